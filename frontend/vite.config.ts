import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { defineConfig, type Plugin } from "vitest/config";
import preact from "@preact/preset-vite";

/** The newest emoji version the server's emoji data knows (backend `emojis` crate). */
const SERVER_EMOJI_VERSION = 17.0;

/**
 * `virtual:emoji-data`: Unicode's emoji list (from unicode-emoji-json), cut
 * at build time to what the picker shows, one group per entry as
 * `[slug, "emoji\tname\n..."]`. The picker imports it lazily, so it is a
 * chunk of its own, fetched the first time the picker opens.
 */
function emojiData(): Plugin {
  const id = "virtual:emoji-data";
  const resolved = `\0${id}`;
  return {
    name: "gifchat-emoji-data",
    resolveId: (source) => (source === id ? resolved : null),
    load(source) {
      if (source !== resolved) return null;
      const file = createRequire(import.meta.url).resolve("unicode-emoji-json/data-by-group.json");
      const groups = JSON.parse(readFileSync(file, "utf8")) as {
        slug: string;
        emojis: { emoji: string; name: string; emoji_version: string }[];
      }[];
      const compact = groups.map((g) => [
        g.slug,
        g.emojis
          .filter((e) => Number(e.emoji_version) <= SERVER_EMOJI_VERSION)
          .map((e) => `${e.emoji}\t${e.name}`)
          .join("\n"),
      ]);
      return `export default ${JSON.stringify(compact)};`;
    },
  };
}

export default defineConfig({
  plugins: [preact(), emojiData()],
  build: {
    target: "es2022",
    sourcemap: false,
    assetsInlineLimit: 0,
  },
  server: {
    proxy: {
      "/api": { target: "http://localhost:8005", ws: true },
      "/gif": "http://localhost:8005",
    },
  },
  test: {
    include: ["tests/**/*.test.ts"],
    testTimeout: 30_000,
  },
});
