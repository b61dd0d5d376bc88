/**
 * Every tib.conf field: its JSON key, the Go field name its TYK_IB_* variable is derived from (envconfig:
 * TYK_IB_ + the upper-cased Go field names joined by `_`; JSON tags are ignored), its kind and default.
 * The loader, the docs table and the tests are all driven from this one table.
 */
export type Kind = 'string' | 'int' | 'bool' | 'list' | 'map' | 'any';

export interface Leaf {
  json: string;
  go: string;
  kind: Kind;
  default: unknown;
  /** Never logged; registered for masking. */
  secret?: boolean;
  /** No TYK_IB_* variable (TIB's envconfig cannot set it). */
  noEnv?: boolean;
  doc: string;
}

export interface Group {
  json: string;
  go: string;
  fields: Node[];
  doc?: string;
}

export type Node = Leaf | Group;

export function isGroup(n: Node): n is Group {
  return 'fields' in n;
}

const s = (json: string, doc: string, extra: Partial<Leaf> = {}): Leaf => ({ json, go: json, kind: 'string', default: '', doc, ...extra });
const i = (json: string, def: number, doc: string, extra: Partial<Leaf> = {}): Leaf => ({ json, go: json, kind: 'int', default: def, doc, ...extra });
const b = (json: string, doc: string, extra: Partial<Leaf> = {}): Leaf => ({ json, go: json, kind: 'bool', default: false, doc, ...extra });

const tykEndpoint = (json: string, header: string, use = ''): Group => ({
  json,
  go: json,
  fields: [
    s('Endpoint', 'Scheme and host, no trailing slash, e.g. `http://localhost`.'),
    s('Port', 'Port, **as a string** (TIB concatenates `Endpoint + ":" + Port + path`).'),
    s('AdminSecret', `Sent as \`${header}\`${use ? ` (${use})` : ''}.`, { secret: true }),
  ],
});

export const SCHEMA: Group = {
  json: '',
  go: '',
  fields: [
    s('Secret', 'Admin API secret: the raw `Authorization` header must equal it. Empty disables the admin API.', { secret: true }),
    i('Port', 0, 'Listen port; 0 means 3010.'),
    s(
      'ListenAddress',
      'Ours (Tyk Gateway\'s `listen_address`): the address the main listener binds to: an IPv4 or IPv6 address or a host name, e.g. `127.0.0.1` to serve this host only. Empty (default) means all interfaces, as TIB. Beyond loopback, an admin `Secret` published in this repository\'s samples is refused: the admin API and `/metrics` answer 403.',
    ),
    s('ProfileDir', 'Directory for `profiles_backup_<unix>.json` backups; empty means the profiles file\'s directory.'),
    b('SSLInsecureSkipVerify', 'Skip TLS verification of every call to identity providers (OIDC discovery, token, userinfo, keys; the social presets), as TIB does. Each affected profile is named in a WARN at load. Prefer a profile\'s `ProviderConfig.CAFile`.'),
    {
      json: 'HttpServerOptions',
      go: 'HttpServerOptions',
      fields: [
        b('UseSSL', 'Serve HTTPS (TLS 1.2 minimum) with CertFile/KeyFile.'),
        s('CertFile', 'PEM certificate (chain) for HTTPS.'),
        s('KeyFile', 'PEM private key for HTTPS.'),
        b('SSLInsecureSkipVerify', 'With UseSSL, skip TLS verification of the outbound Dashboard/Gateway client (TIB quirk).'),
      ],
    },
    {
      json: 'BackEnd',
      go: 'BackEnd',
      fields: [
        s('Name', '`in_memory` (default) or `redis`: where shared state lives (the identity cache of the token actions, replay marks of verified logins, lockout counters; a login in flight is kept in the browser). Several replicas need `redis`. TIB ignores this key.', { default: 'in_memory' }),
        s('KeyPrefix', 'Ours: prefix of every key the broker writes to Redis.', { default: 'tib:' }),
        { json: 'ProfileBackendSettings', go: 'ProfileBackendSettings', kind: 'any', default: {}, noEnv: true, doc: 'Accepted and ignored, as in TIB.' },
        {
          json: 'IdentityBackendSettings',
          go: 'IdentityBackendSettings',
          doc: 'The Redis connection.',
          fields: [
            i('Database', 0, 'Redis database number.'),
            s('Username', 'Redis ACL user.'),
            s('Password', 'Redis password.', { secret: true }),
            s('Host', 'Used when Addrs and Hosts are empty and Port is not 0 (as in TIB; a Host without Port is warned about and ignored).'),
            i('Port', 0, 'See Host.'),
            i('Timeout', 0, 'Seconds to connect and for each command; 0 means 5. Commands are never queued while Redis is unreachable: a login that needs Redis fails at once (or after Timeout when Redis hangs).'),
            i('MaxIdle', 0, 'Accepted for compatibility; unused (as in TIB).'),
            i('MaxActive', 0, 'Accepted for compatibility; unused: the client pipelines every command over one connection per Redis node, so there is no pool to size (TIB: pool size, 0 means 500).'),
            b('UseSSL', 'TLS to Redis.'),
            b('SSLInsecureSkipVerify', 'Skip Redis TLS verification.'),
            s('CAFile', 'CA bundle for Redis TLS.'),
            s('CertFile', 'Client certificate (with KeyFile).'),
            s('KeyFile', 'Client key (with CertFile).'),
            s('MaxVersion', 'Highest TLS version, `1.0`..`1.3`; empty means 1.3.'),
            s('MinVersion', 'Lowest TLS version, `1.0`..`1.3`; empty means 1.2.'),
            b('EnableCluster', 'Use Redis Cluster (Addrs are seed nodes; Database must be 0).'),
            { ...s('Addrs', '`host:port` list; wins over Hosts. Env form: `h1:6379,h2:6379`.'), kind: 'list', default: [] },
            { ...s('Hosts', 'Deprecated `{"host":"port"}` map. Env form: `h1:6379,h2:6380`.'), kind: 'map', default: {} },
            s('MasterName', 'Sentinel master name: use Sentinel (wins over EnableCluster, as in TIB); Addrs are the sentinels (default `localhost:26379`).'),
            s('SentinelPassword', 'Sentinel password.', { secret: true }),
          ],
        },
      ],
    },
    {
      json: 'TykAPISettings',
      go: 'TykAPISettings',
      fields: [
        tykEndpoint('GatewayConfig', 'X-Tyk-Authorization'),
        tykEndpoint('DashboardConfig', 'Admin-Auth', 'the admin SSO fallback'),
        {
          json: 'PortalAPIConfig',
          go: 'PortalAPIConfig',
          doc: 'Ours: the Tyk Developer Portal\'s admin API, for portal profiles whose `Membership.Authority` is `idp` or whose team references are names (docs/portal-membership.md).',
          fields: [
            s('Endpoint', 'Ours: the portal\'s base URL, e.g. `http://tyk-portal:3001`; the broker adds `/portal-api`.'),
            s('AdminToken', 'Ours: an admin user\'s API credential (the portal\'s profile page), sent as `Authorization`; not `PORTAL_API_SECRET`.', { secret: true }),
          ],
        },
        i('Timeout', 10, 'Ours: seconds each call to the Dashboard, Portal or Gateway may take (connect included).'),
      ],
    },
    {
      json: 'Storage',
      go: 'Storage',
      fields: [
        { ...s('storage_type', '`file` (default): profiles live in the `-p` file. `redis` (ours): profiles live in Redis (`BackEnd.IdentityBackendSettings`, keys under `BackEnd.KeyPrefix`), shared by every replica; the `-p` file seeds an empty store and receives `POST /api/profiles/save`. `mongo` is not supported yet and refused at startup.'), go: 'StorageType' },
        {
          json: 'mongo',
          go: 'MongoConf',
          doc: 'Accepted for compatibility; Mongo profile storage is not supported yet.',
          fields: [
            { ...s('mongo_url', 'Mongo connection string.', { secret: true }), go: 'MongoURL' },
            { ...b('mongo_use_ssl', ''), go: 'MongoUseSSL' },
            { ...b('mongo_ssl_insecure_skip_verify', ''), go: 'MongoSSLInsecureSkipVerify' },
            { ...s('session_consistency', ''), go: 'SessionConsistency' },
            { ...s('driver', '`mgo` or `mongo-go`.'), go: 'Driver' },
            { ...b('direct_connection', ''), go: 'DirectConnection' },
            { ...s('db_name', 'Unused, as in TIB.'), go: 'DBName' },
            { ...i('max_insert_batch_size_bytes', 0, 'Unused, as in TIB.'), go: 'MaxInsertBatchSizeBytes' },
            { ...i('max_document_size_bytes', 0, 'Unused, as in TIB.'), go: 'MaxDocumentSizeBytes' },
            { ...i('collection_cap_max_size_bytes', 0, 'Unused, as in TIB.'), go: 'CollectionCapMaxSizeBytes' },
            { ...b('collection_cap_enable', 'Unused, as in TIB.'), go: 'CollectionCapEnable' },
          ],
        },
      ],
    },
    // Ours (not in TIB).
    i('ProfileBackupCount', 10, 'Ours: how many profile backups to keep (at least 1).'),
    s('LogFormat', 'Ours: `text` (TIB-like, default) or `json`.', { default: 'text' }),
    {
      ...s(
        'AllowedIdPHosts',
        'Ours: when set, profiles may only name these identity-provider and directory hosts (LDAPServer, DiscoverURL, the social endpoint URLs, IDPMetadataURL, TargetHost): exact host names or IP addresses, or `*.example.com` for any name below example.com. Empty allows any host (TIB). Env form: `idp.example.com,*.corp.example`.',
      ),
      kind: 'list',
      default: [],
    },
    {
      json: 'BruteForce',
      go: 'BruteForce',
      doc: 'Ours: brute-force protection of password logins (LDAP). A profile\'s `ProviderConfig.BruteForce` overrides any of these keys.',
      fields: [
        i('UsernameLimit', 5, 'Ours: attempts at one user (the directory entry) from one client, per profile, within WindowSeconds; the next one from that client is refused without a bind, for BlockSeconds. Clients without the user\'s device cookie are refused after 3 times this in all. 0 turns both off.'),
        i('IPLimit', 50, 'Ours: attempts per client IP and profile within WindowSeconds (unknown usernames count too); past it, a peer outside TrustedProxies that forwards X-Forwarded-For is counted per forwarded client. 0 turns the IP counter off.'),
        i('WindowSeconds', 900, 'Ours: the window the attempts are counted in (1 to 604800).'),
        i('BlockSeconds', 900, 'Ours: how long a username or IP stays locked out (1 to 604800).'),
      ],
    },
    {
      ...s(
        'TrustedProxies',
        'Ours: reverse proxies (IP addresses or CIDR blocks) whose `X-Forwarded-For` gives the client IP for brute-force protection; from any other peer the header is ignored. Env form: `10.0.0.1,10.1.0.0/16`.',
      ),
      kind: 'list',
      default: [],
    },
    i(
      'LoginStartsPerMinute',
      600,
      'Ours: redirect logins (social/OIDC, SAML) one client address (an IPv6 /64 as one) may start per minute on each replica, counted in memory; past it the start is answered 429 with `Retry-After`. 0 turns the limit off (0 to 1000000).',
    ),
    {
      json: 'Management',
      go: 'Management',
      doc: 'Ours: a second listener for operators, serving `/metrics`, `/health` and `/ready` without authentication; keep it off public networks.',
      fields: [
        i('Port', 0, 'Ours: port of the management listener; 0 (default) runs none, and `/metrics` is then served on the main port to the admin `Secret` only.'),
        s('Host', 'Ours: address the management listener binds to; loopback by default, so only the host (or a sidecar) can scrape it.', { default: '127.0.0.1' }),
      ],
    },
    {
      json: 'Audit',
      go: 'Audit',
      doc: 'Ours: the audit log, one JSON line per login and per admin-API change, on its own stream.',
      fields: [
        b('Enabled', 'Ours: write the audit log.'),
        s('Path', 'Ours: file the audit log is appended to (created with mode 0600); empty means standard output.'),
        s('Key', 'Ours: key of the HMAC-SHA-256 that hashes user IDs in the audit log (at least 32 characters); empty derives one from `TYK_IB_SESSION_SECRET`. Set the same key on every replica.', { secret: true }),
      ],
    },
  ],
};

/** The env variable of a field path (Go names), e.g. ['BackEnd','IdentityBackendSettings','Hosts']. */
export function envName(goPath: string[]): string {
  return `TYK_IB_${goPath.map((p) => p.toUpperCase()).join('_')}`;
}

/** Every leaf with its JSON path and env variable, in schema order. */
export function leaves(group: Group = SCHEMA, json: string[] = [], go: string[] = []): Array<{ leaf: Leaf; jsonPath: string[]; env?: string }> {
  const out: Array<{ leaf: Leaf; jsonPath: string[]; env?: string }> = [];
  for (const n of group.fields) {
    if (isGroup(n)) out.push(...leaves(n, [...json, n.json], [...go, n.go]));
    else out.push({ leaf: n, jsonPath: [...json, n.json], env: n.noEnv ? undefined : envName([...go, n.go]) });
  }
  return out;
}
