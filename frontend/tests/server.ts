// Starts the real gifchat binary for tests, on a fresh SQLite database.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach } from "vitest";
import { makeApi, type Api } from "../src/api/client";

export const BIN = process.env.GIFCHAT_BIN ?? fileURLToPath(new URL("../../target/debug/gifchat", import.meta.url));
export const STATIC_DIR = fileURLToPath(new URL("../dist", import.meta.url));

export class Server {
  port = 0;
  private child: ChildProcess | null = null;
  readonly dataDir = mkdtempSync(join(tmpdir(), "gifchat-web-"));

  get base(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Starts (or restarts, on the same port and data) the server. */
  async start(env: Record<string, string> = {}): Promise<void> {
    const child = spawn(BIN, ["serve"], {
      env: {
        ...process.env,
        PORT: String(this.port),
        BIND_ADDR: "127.0.0.1",
        DATA_DIR: this.dataDir,
        DATABASE_URL: join(this.dataDir, "gifchat.db"),
        RATE_LIMITS: "off",
        LEAVE_GRACE_SECS: "1",
        RUST_LOG: "info",
        STATIC_DIR,
        ...env,
      },
      stdio: ["ignore", "ignore", "pipe"],
    });
    this.child = child;
    this.port = await new Promise<number>((ok, fail) => {
      let log = "";
      const timer = setTimeout(() => fail(new Error(`server did not start:\n${log}`)), 20_000);
      child.stderr?.on("data", (chunk: Buffer) => {
        log += chunk.toString();
        const m = /listening on port (\d+)/.exec(log);
        if (m) {
          clearTimeout(timer);
          ok(Number(m[1]));
        }
      });
      child.on("exit", (code) => fail(new Error(`server exited with ${code}:\n${log}`)));
    });
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((ok) => {
      child.on("exit", () => ok());
      child.kill("SIGTERM");
    });
    this.child = null;
  }

  /** Freezes (SIGSTOP) or thaws (SIGCONT) the process: its connections stay
   *  open and nothing answers on them, as on a dead route. */
  pause(frozen: boolean): void {
    this.child?.kill(frozen ? "SIGSTOP" : "SIGCONT");
  }

  async dispose(): Promise<void> {
    this.pause(false);
    await this.stop();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/** A server of its own for each test of the file, on a fresh database,
 *  started before the test and removed after it. */
export function serverForEachTest(): { server: Server } {
  const live = { server: null as unknown as Server };
  beforeEach(async () => {
    live.server = new Server();
    await live.server.start();
  });
  afterEach(async () => {
    await live.server.dispose();
  });
  return live;
}

/** Waits until `cond` holds, polling. */
export async function until(cond: () => boolean, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The web app's API client, speaking for `person` (Node's fetch has no cookie jar). */
export function apiAs(server: Server, person: Person): Api {
  return makeApi(server.base, (input, init) => {
    const req = new Request(input as RequestInfo, init);
    req.headers.set("cookie", person.cookie);
    return fetch(req);
  });
}

/** A person: a cookie of their own, and JSON calls with it. */
export class Person {
  cookie = "";
  constructor(private readonly server: Server) {}

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.server.base}${path}`, {
      method,
      headers: { cookie: this.cookie, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const set = res.headers.get("set-cookie");
    if (set) this.cookie = set.split(";")[0] ?? "";
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return (text ? JSON.parse(text) : null) as T;
  }
}
