/** Shared set-up of the Redis integration tests: the stacks' real config and passwords. */
import { parseConfig, PlatformConfig } from "../../components/config";
import type { RedisPasswords } from "../../components/redis/acl";
import { loadStackConfig } from "../../engine/stackConfig";

export function stackConfig(stack: "dev" | "prod"): PlatformConfig {
    const { config, secretKeys } = loadStackConfig(stack);
    return parseConfig(config, stack, secretKeys);
}

/** Passwords made of every character generated passwords may contain (see keyVault.passwords.special). */
export function testPasswords(config: PlatformConfig): RedisPasswords {
    const pw = (who: string) => `${who}-Zq9!#%&*+-./:=?@^_~`;
    return {
        admin: pw("admin"),
        monitor: pw("monitor"),
        replication: pw("replication"),
        sentinel: pw("sentinel"),
        sentinelClient: pw("client"),
        apps: Object.fromEntries(config.apps.map((a) => [a.name, pw(a.name)])),
    };
}

export { Writer, appClient, sentinelMaster, sleep } from "../../tools/sandbox/redis";
