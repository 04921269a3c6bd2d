/** Where the TensorZero gateway is and how to authenticate to it. */
export interface GatewayConfig {
  /** Base URL of the gateway, e.g. http://localhost:3000 (no trailing slash needed). */
  url: string;
  /** TensorZero API key (`sk-t0-…`), only when the gateway has `auth.enabled = true`. */
  apiKey?: string;
}

/** Reads TENSORZERO_URL and TENSORZERO_API_KEY. Returns null when no gateway is configured. */
export function gatewayConfigFromEnv(env: NodeJS.ProcessEnv = process.env): GatewayConfig | null {
  const url = env.TENSORZERO_URL?.trim();
  if (!url) return null;
  const apiKey = env.TENSORZERO_API_KEY?.trim();
  return { url: normalizeGatewayUrl(url), ...(apiKey ? { apiKey } : {}) };
}

/** Validates the URL and drops trailing slashes so paths can be appended with a single "/". */
export function normalizeGatewayUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`TENSORZERO_URL is not a valid URL: "${url}"`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new Error(`TENSORZERO_URL must be http(s), got "${parsed.protocol}"`);
  }
  return url.replace(/\/+$/, "");
}

/** Absolute URL of a gateway endpoint, e.g. gatewayEndpoint(config, "/feedback"). */
export function gatewayEndpoint(gateway: GatewayConfig, path: string): string {
  return `${gateway.url.replace(/\/+$/, "")}${path.startsWith("/") ? path : `/${path}`}`;
}
