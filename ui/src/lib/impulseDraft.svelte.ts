// The impulse being edited, shared by the pages that edit it (Impulse design, Training settings):
// the draft, every block's form, and the problems the engine finds, each placed on its field.
// Each change is checked by the engine (the same check saving does) a moment after the last one.
import {
  commands,
  type Field_Serialize as Field,
  type FieldError,
  type ImpulseDraft,
  type ImpulseForms_Serialize as ImpulseForms,
  type ImpulseInfo_Serialize as ImpulseInfo,
} from "../bindings";
import { call, message } from "./api";

export class ImpulseEditor {
  info = $state<ImpulseInfo | null>(null);
  draft = $state<ImpulseDraft | null>(null);
  forms = $state<ImpulseForms | null>(null);
  /** Problems by field path (`dsp.n_peaks`, `learn.augment.copies`, `window.length_ms`). */
  problems = $state<Record<string, string>>({});
  /** Problems about no field drawn on the page. */
  loose = $state<string[]>([]);
  features = $state<number | null>(null);
  error = $state("");
  saved = $state(false);
  saving = $state(false);

  dspForm = $derived(this.forms?.dsp.find((form) => form.block === this.draft?.dsp_block) ?? null);
  learnForm = $derived(this.forms?.learn.find((form) => form.block === this.draft?.learn_block) ?? null);
  problemCount = $derived(Object.keys(this.problems).length + this.loose.length);

  #timer: ReturnType<typeof setTimeout> | undefined;
  #ticket = 0;

  async load() {
    try {
      this.#take(await call(commands.getImpulse()));
    } catch (e) {
      this.error = message(e);
    }
  }

  #take(info: ImpulseInfo) {
    this.info = info;
    this.draft = structuredClone($state.snapshot(info.settings)) as ImpulseDraft;
    this.forms = info.forms;
    this.features = info.features ?? null;
    this.problems = {};
    this.loose = [];
  }

  /** Call after every change to the draft. */
  edited = () => {
    this.saved = false;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.check(), 200);
  };

  /** Checks the draft now; true when it has no problem. */
  async check(): Promise<boolean> {
    if (!this.draft) return false;
    const ticket = ++this.#ticket;
    try {
      const result = await call(commands.checkImpulse($state.snapshot(this.draft) as ImpulseDraft));
      if (ticket !== this.#ticket) return false;
      this.forms = result.forms;
      this.features = result.features ?? null;
      this.#place(result.problems);
      return result.problems.length === 0;
    } catch (e) {
      this.error = message(e);
      return false;
    }
  }

  /** Saves the draft to `mote.toml` when it checks out; true when saved. */
  async save(): Promise<boolean> {
    if (!this.draft) return false;
    this.error = "";
    this.saved = false;
    this.saving = true;
    clearTimeout(this.#timer);
    try {
      if (!(await this.check())) return false;
      this.#take(await call(commands.saveImpulse($state.snapshot(this.draft) as ImpulseDraft)));
      this.saved = true;
      return true;
    } catch (e) {
      this.error = message(e);
      return false;
    } finally {
      this.saving = false;
    }
  }

  /** A new block starts from its defaults: one block's parameters mean nothing to another. */
  changeBlock(kind: "dsp" | "learn") {
    if (!this.draft) return;
    if (kind === "dsp") this.draft.dsp_params = {};
    else this.draft.learn_params = {};
    this.edited();
  }

  // An error about a part of a field (`dsp.filter.cutoff_hz` while the field is drawn at
  // `dsp.filter.low_pass.cutoff_hz`) lands on the nearest field drawn.
  #place(found: FieldError[]) {
    const paths = new Set<string>(["window.length_ms", "window.stride_ms", "dsp", "learn"]);
    if (this.dspForm) fieldPaths(this.dspForm.fields, "dsp", paths);
    if (this.learnForm) fieldPaths(this.learnForm.fields, "learn", paths);
    const placed: Record<string, string> = {};
    const rest: string[] = [];
    for (const problem of found) {
      let path = problem.field;
      while (path.includes(".") && !paths.has(path)) path = path.slice(0, path.lastIndexOf("."));
      if (paths.has(path)) placed[path] = placed[path] ? `${placed[path]}; ${problem.message}` : problem.message;
      else rest.push(`${problem.field}: ${problem.message}`);
    }
    this.problems = placed;
    this.loose = rest;
  }
}

function fieldPaths(fields: Field[], prefix: string, out: Set<string>) {
  for (const field of fields) {
    const path = `${prefix}.${field.key}`;
    out.add(path);
    if (field.kind.type === "group") fieldPaths(field.kind.fields, path, out);
    if (field.kind.type === "one_of") {
      for (const variant of field.kind.variants) if (variant.body) fieldPaths([variant.body], path, out);
    }
  }
}
