/**
 * The Redis tests start their own `redis-server` (and `redis-cli --cluster create`) processes. Without the binaries
 * every one of them would fail with its own "exited at startup": say it once, with what to do.
 */
import { execFileSync } from "node:child_process"

const present = (binary: string): boolean => {
  try {
    execFileSync(binary, ["--version"], { stdio: "ignore" })
    return true
  } catch {
    return false
  }
}

export default function setup(): void {
  const missing = ["redis-server", "redis-cli"].filter((binary) => !present(binary))
  if (missing.length > 0) {
    throw new Error(
      `${missing.join(" and ")} not found on the PATH: the Redis tests start servers of their own. ` +
        "Install Redis 7 (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis) and run npm test again."
    )
  }
}
