// What the virtual board can perform, in the order the pages offer them. The record forces the
// list to hold every `Activity` the app's bindings name, and nothing else.
import type { Activity } from "../bindings";

const labels: Record<Activity, string> = { idle: "idle", wave: "wave", circle: "circle", shake: "shake" };

export const activities = Object.keys(labels) as Activity[];
