/** Redis: a Sentinel group or one standalone pod, with an ACL user per application. */
export { Redis, RedisArgs } from "./redis";
export { REDIS_COMPONENT_TYPE } from "./layout";
