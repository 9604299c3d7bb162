#!/usr/bin/env bun
/**
 * The app as shipped, analytics on, except that its click recorder only reads the three headers
 * analytics records (user agent, referrer, language): nothing is logged and the click is not
 * counted (the shipped log counts clicks in place of analytics off's map increment, so this
 * leaves that out too). Against analytics off it is those three reads less the increment: the
 * least any exact per-click record costs through Bun's `Headers` (`bun bench/analytics.ts
 * --reads-floor`). Configured by env, as `bun src/main.ts` is.
 */
import { runServer } from "../../src/composition/run-server";

/** What was read goes somewhere, so that no read can be skipped as unused. */
let read = 0;

await runServer({
  clickRecorder: (_outcome, request) => {
    const headers = request.headers;
    read ^= (headers.get("user-agent")?.length ?? 0) ^ (headers.get("referer")?.length ?? 0) ^ (headers.get("accept-language")?.length ?? 0);
  },
});
