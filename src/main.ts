import { runServer } from "./composition/run-server";

await runServer();
