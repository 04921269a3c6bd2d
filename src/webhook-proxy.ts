/** Local development: forward deliveries from a smee.io channel (smee-client is an optional dev install). */
export async function startWebhookProxy(source: string, target: string, log: { info(msg: string): void; warn(msg: string): void }): Promise<void> {
  try {
    const moduleName = "smee-client";
    type SmeeClientClass = new (o: object) => { start(): unknown };
    const mod = (await import(moduleName)) as { SmeeClient?: SmeeClientClass; default?: SmeeClientClass };
    const SmeeClient = mod.SmeeClient ?? mod.default;
    if (!SmeeClient) throw new Error("smee-client has no SmeeClient export");
    new SmeeClient({ source, target, logger: console }).start();
    log.info(`forwarding ${source} → ${target}`);
  } catch {
    log.warn("WEBHOOK_PROXY_URL is set but smee-client is not installed: run `npm install --no-save smee-client`");
  }
}
