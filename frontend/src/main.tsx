import { render } from "preact";
import { App } from "./app";
import { lang, loadLang } from "./i18n";
import "./styles.css";

const root = document.getElementById("app");
// The first screen shows in the reader's language, so its words come first
// (English is built in; another language is one small fetch). The app
// takes the place of what index.html shows while it loads.
if (root) void loadLang(lang.get()).finally(() => { root.replaceChildren(); render(<App />, root); });
