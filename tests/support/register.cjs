/**
 * mocha's `require`: ts-node (transpile-only) with the transpile cache of ./transpileCache.cjs, set through the
 * environment so that every ts-node process the tests start uses it too.
 */
const path = require("path");

process.env.TS_NODE_PROJECT = path.join(__dirname, "ts-node.json");
require("ts-node/register/transpile-only");
