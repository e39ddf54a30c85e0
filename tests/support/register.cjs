/**
 * mocha's `require`: ts-node (transpile-only) with the transpile cache of ./transpileCache.cjs, set through the
 * environment so that every ts-node process the tests start uses it too.
 */
const fs = require("fs");
const path = require("path");

process.env.TS_NODE_PROJECT = path.join(__dirname, "ts-node.json");
require("ts-node/register/transpile-only");
const { REGISTER_INSTANCE } = require("ts-node");

/**
 * Once per mocha run, in its main process before any worker starts: every project file into the transpile cache.
 * In a fresh clone the workers, and the processes they start, would otherwise each transpile the files they load,
 * all at once.
 */
exports.mochaGlobalSetup = () => {
    const service = process[REGISTER_INSTANCE];
    const { ts } = service;
    const tsconfig = path.join(__dirname, "..", "..", "tsconfig.json");
    const { fileNames } = ts.parseJsonConfigFileContent(
        ts.readConfigFile(tsconfig, ts.sys.readFile).config,
        ts.sys,
        path.dirname(tsconfig),
    );
    // Declaration files hold only types: there is nothing to transpile.
    for (const file of fileNames.filter((f) => !f.endsWith(".d.ts"))) {
        service.compile(fs.readFileSync(file, "utf8"), file);
    }
};
