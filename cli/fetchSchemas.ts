/**
 * `npm run schemas:fetch`: the upstream CRD schemas the tests read, fetched into the per-user cache and checked
 * against their pinned sha256 (testbed/crdSchemas.ts). Needed only where neither `CRD_SCHEMAS_DIR` nor the project's
 * `../shared/schemas` is there; .ci/install.sh runs it then. Exit 1 when a file could not be fetched or verified.
 */
import { fetchSchemas, schemaCacheDir } from "../testbed/crdSchemas";

const dir = schemaCacheDir();
fetchSchemas(dir).then(
    (fetched) => console.log(`CRD schemas in ${dir}: ${fetched} fetched, all verified`),
    (err: unknown) => {
        console.error(err instanceof Error ? err.message : err);
        process.exitCode = 1;
    },
);
