// The user and password an http(s)://[user:password@]host URL carries — how InfluxDB's credentials are
// given everywhere (influx.url, --influx-url) — taken apart for what cannot take them in the URL: an
// Authorization header (fetch refuses such a URL), a Grafana datasource file.

/** The URL's user and password, percent-decoded (p%40ss is p@ss); '' when absent. Throws URIError for a % that starts no escape. */
export function credentialsOf(url: URL): { user: string; password: string } {
  return { user: decodeURIComponent(url.username), password: decodeURIComponent(url.password) };
}

/** The Basic Authorization header value for the URL's user and password; undefined without a user. */
export function basicAuthorization(url: URL): string | undefined {
  const { user, password } = credentialsOf(url);
  return user === '' ? undefined : `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}
