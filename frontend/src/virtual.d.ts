// Modules made by the build (see vite.config.ts).
declare module "virtual:emoji-data" {
  /** One entry per emoji group: its slug and `emoji\tname` lines. */
  const groups: [string, string][];
  export default groups;
}
