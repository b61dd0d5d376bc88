/**
 * The broker's configuration: every tib.conf field with TIB's JSON names and types, plus our own
 * extensions (marked "ours"). Loaded and validated by config/load.ts.
 */

/** `BackEnd.IdentityBackendSettings`: the Redis connection (TIB's storage library settings). */
export interface RedisSettings {
  Database: number;
  Username: string;
  Password: string;
  Host: string;
  Port: number;
  /** Seconds; 0 means 5 s. */
  Timeout: number;
  /** Accepted for compatibility; TIB never uses it. */
  MaxIdle: number;
  /** Pool size; 0 means 500. */
  MaxActive: number;
  UseSSL: boolean;
  SSLInsecureSkipVerify: boolean;
  CAFile: string;
  CertFile: string;
  KeyFile: string;
  /** "1.0".."1.3"; defaults max 1.3, min 1.2. */
  MaxVersion: string;
  MinVersion: string;
  EnableCluster: boolean;
  /** "host:port" list; wins over Hosts. */
  Addrs: string[];
  /** Deprecated {"host":"port"} map. */
  Hosts: Record<string, string>;
  MasterName: string;
  SentinelPassword: string;
}

/** `TykAPISettings.GatewayConfig` / `DashboardConfig`. `Port` is a string, as in TIB. */
export interface TykApiEndpoint {
  Endpoint: string;
  Port: string;
  AdminSecret: string;
}

/** ours: `TykAPISettings.PortalAPIConfig`: the portal's base URL (the client adds `/portal-api`) and an admin's API credential. */
export interface PortalApiSettings {
  Endpoint: string;
  AdminToken: string;
}

export interface MongoSettings {
  mongo_url: string;
  mongo_use_ssl: boolean;
  mongo_ssl_insecure_skip_verify: boolean;
  session_consistency: string;
  driver: string;
  direct_connection: boolean;
  db_name: string;
  max_insert_batch_size_bytes: number;
  max_document_size_bytes: number;
  collection_cap_max_size_bytes: number;
  collection_cap_enable: boolean;
}

/** `BruteForce` (ours): attempts per username and per client IP; a limit of 0 turns that counter off. */
export interface BruteForceSettings {
  UsernameLimit: number;
  IPLimit: number;
  WindowSeconds: number;
  BlockSeconds: number;
}

export type BackendName = 'in_memory' | 'redis';
export type LogFormat = 'text' | 'json';
export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

export interface Config {
  /** Admin API secret, compared with the raw `Authorization` header. Empty disables the admin API. */
  Secret: string;
  /** Listen port; 0 means 3010. */
  Port: number;
  /** ours: the main listener's address (IP or host name); empty means all interfaces, as TIB. */
  ListenAddress: string;
  /** Directory for profile backups and flushes. */
  ProfileDir: string;
  /** TLS verification of IdP calls (OIDC discovery, token, userinfo). */
  SSLInsecureSkipVerify: boolean;
  HttpServerOptions: {
    UseSSL: boolean;
    CertFile: string;
    KeyFile: string;
    /** TIB applies this to the outbound Dashboard/Gateway client when UseSSL is on. */
    SSLInsecureSkipVerify: boolean;
  };
  BackEnd: {
    /** "in_memory" (default) or "redis": where the identity cache, replay marks and lockout counters live. */
    Name: BackendName;
    /** ours: prefix of every key the broker writes to Redis (default `tib:`). */
    KeyPrefix: string;
    ProfileBackendSettings: unknown;
    IdentityBackendSettings: RedisSettings;
  };
  TykAPISettings: {
    GatewayConfig: TykApiEndpoint;
    DashboardConfig: TykApiEndpoint;
    /** ours: the Developer Portal's admin API (src/portal/api.ts). */
    PortalAPIConfig: PortalApiSettings;
    /** ours: seconds per call (default 10). */
    Timeout: number;
  };
  Storage: {
    /** "file" (default) or "redis" (ours: profiles shared by replicas); anything else is refused at startup. */
    storage_type: string;
    mongo: MongoSettings;
  };
  /** ours: `TYK_IB_SESSION_SECRET` (or the deprecated `SESSION_SECRET`): seals login flow cookies, keys device cookies and log hashes. */
  SessionSecret: string;
  /** ours: how many `profiles_backup_<unix>.json` files to keep (default 10). */
  ProfileBackupCount: number;
  /** `TYK_LOGLEVEL`. */
  LogLevel: LogLevel;
  /** ours: `text` (TIB-like, default) or `json`. */
  LogFormat: LogFormat;
  /** ours: hosts profiles may connect to (exact, or `*.suffix`); empty allows any. */
  AllowedIdPHosts: string[];
  /** ours: brute-force protection of password logins; a profile's ProviderConfig.BruteForce overrides it. */
  BruteForce: BruteForceSettings;
  /** ours: proxies (IPs or CIDR blocks) whose X-Forwarded-For is believed for the client IP. */
  TrustedProxies: string[];
  /** ours: redirect-login starts per client address and minute, per replica (default 600); 0 turns it off. */
  LoginStartsPerMinute: number;
  /** ours: the management listener (/metrics, /health, /ready); Port 0 runs none. */
  Management: ManagementSettings;
  /** ours: the audit log. */
  Audit: AuditSettings;
}

/** `Management` (ours). */
export interface ManagementSettings {
  Port: number;
  Host: string;
}

/** `Audit` (ours): Path empty means stdout; Key empty derives the user-id hash key from the session secret. */
export interface AuditSettings {
  Enabled: boolean;
  Path: string;
  Key: string;
}
