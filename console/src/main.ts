// The console's page: the map, the trail and the dead letters, each
// from the console's own API on this loopback origin.

import { status } from "./dom.js";
import * as letters from "./letters.js";
import * as map from "./map.js";
import * as trail from "./trail.js";

map.start();
trail.start(status);
letters.start();
