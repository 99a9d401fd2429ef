import "./lib/locale"; // first: fixes navigator.language before uPlot reads it
import { mount } from "svelte";
import "uplot/dist/uPlot.min.css";
import "./lib/theme.css";
import App from "./App.svelte";

// A failure while starting must say what happened instead of leaving a blank window.
function showFatal(error: unknown) {
  const target = document.getElementById("app")!;
  const box = document.createElement("pre");
  box.className = "banner error";
  box.textContent = `Mote Studio hit an error while starting:\n${error instanceof Error ? error.stack ?? error.message : String(error)}`;
  target.replaceChildren(box);
}

window.addEventListener("error", (event) => showFatal(event.error ?? event.message));
window.addEventListener("unhandledrejection", (event) => console.error(event.reason));

try {
  mount(App, { target: document.getElementById("app")! });
} catch (error) {
  showFatal(error);
}
