import { loadPlan } from "./plan";
import { Lifecycle } from "./harness";
(async () => {
    let t = Date.now();
    const lap = (s: string) => {
        console.log(s, Date.now() - t);
        t = Date.now();
    };
    const p = await loadPlan("prod", "/tmp/lc/prod.yaml");
    lap("plan");
    const l = await Lifecycle.start(p);
    lap("start");
    await l.apply(p);
    lap("apply");
    await l.stop();
    lap("stop");
})();
