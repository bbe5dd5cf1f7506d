// The seed's Node app for bench/run.sh: one dependency (ms) from the npm
// registry, one devDependency (is-number). run.sh rewrites benchRev for its
// one-line-edit rows.
const ms = require("ms");
const benchRev = "0";
console.log("hello from the bench app, rev " + benchRev + ", 1m = " + ms("1m") + " ms");
