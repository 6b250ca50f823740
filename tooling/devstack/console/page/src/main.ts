// The console's page: the map, the trail, the dead letters, the
// executions, the functions and the deployments, each
// from the console's own API on this loopback origin.

import * as deployments from "./deployments.js";
import { status } from "./dom.js";
import * as executions from "./executions.js";
import * as functions from "./functions.js";
import * as letters from "./letters.js";
import * as map from "./map.js";
import * as trail from "./trail.js";

map.start();
trail.start(status);
letters.start();
executions.start();
functions.start();
deployments.start();
