// Package dashboard embeds mqlive's live fleet view: static index.html,
// app.js and style.css (plain ESM, no build step) that the bridge serves at
// /, with monitor.js (the admins' Monitor view of the monitor channel),
// commands.js (On/Off/Toggle in the device detail panel) and dom.js. The page loads the SDK from /sdk/ (index.js, wasm_exec.js,
// mqlive.wasm), which sdk-js/scripts/build.sh (make wasm) copies into
// static/sdk/; a checkout without it still builds, and the page then says
// the SDK is not built.
//
// Concurrency contract: FS returns a read-only fs.FS that is safe for
// concurrent use.
package dashboard
