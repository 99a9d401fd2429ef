// The pages of the app, in navigation order; every page gets `navigate(id)`.
export type PageId = "dashboard" | "devices" | "data" | "impulse" | "training" | "tuner" | "testing" | "deployment" | "live" | "integrations";
export type Navigate = (page: PageId) => void;
