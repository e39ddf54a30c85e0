/**
 * Turns of the event loop while the program registers resources. The SDK registers a resource asynchronously, and
 * until the engine answers, each registration holds its inputs, its outputs and their promise chains (about 300 KB
 * under the mock engine). Resources created in one synchronous stretch all wait at once, so the program yields
 * between batches of them; resources, inputs and dependencies stay the same.
 */

/** One turn of the event loop: the engine's answers so far are taken in before more resources are registered. */
export function nextTurn(): Promise<void> {
    return new Promise((resolve) => setImmediate(resolve));
}
