/**
 * nginx in front of an application, asking a Stepgate agent about every request with
 * `auth_request` (ngx_http_auth_request_module, built into Debian's nginx). The same config
 * the README walkthrough shows; the suite runs it with a real nginx.
 *
 * - the agent answers the subrequest `GET /v1/authz/http` with 200 (allow), 403 (deny) or
 *   401 + `WWW-Authenticate` (step-up, RFC 9470); nginx allows only 2xx;
 * - the original method and URI travel in `X-Original-Method` / `X-Original-URI` (set here,
 *   so a client cannot choose them), the bearer token in `Authorization`; the request body
 *   is not sent (`proxy_pass_request_body off`);
 * - the client's address travels in `X-Forwarded-For` and `X-Real-IP`, both overwritten with
 *   `$remote_addr`, and the client's own `Forwarded` is dropped: the subrequest carries every
 *   header of the original request, so without this a client chooses its `context.ip`. The
 *   agent believes these headers only from STEPGATE_TRUSTED_PROXIES (nginx's address), and
 *   takes the right-most address of X-Forwarded-For that is not a trusted proxy. (Behind
 *   another proxy, use the realip module so `$remote_addr` is the real client, or
 *   `$proxy_add_x_forwarded_for` with that proxy in STEPGATE_TRUSTED_PROXIES.)
 * - on allow, the agent names the verified principal in `X-Stepgate-Principal`; nginx
 *   passes it to the application, always overwriting whatever the client sent;
 * - on step-up, the agent's challenge reaches the client, so it knows which acr and max_age
 *   to ask its identity provider for. nginx's auth_request copies the subrequest's
 *   `WWW-Authenticate` onto its 401 by itself; the common recipe of
 *   `auth_request_set $c $upstream_http_www_authenticate` + `error_page 401 = @named` +
 *   `add_header WWW-Authenticate $c always` sends the challenge twice (verified with nginx
 *   1.22 by the suite, which expects exactly one), so it is not used here.
 */
export interface NginxConfigOptions {
  /** Where nginx listens, e.g. `127.0.0.1:8080`. */
  listen: string;
  /** The Stepgate agent, e.g. `127.0.0.1:8182`. */
  agent: string;
  /** The protected application, e.g. `127.0.0.1:3000`. */
  upstream: string;
  /**
   * A directory for the pid file, logs and temp files; omit for a system install (nginx's own
   * defaults). Tests use a private temp dir, so nginx runs without touching /var.
   */
  runDir?: string;
}

/** A complete `nginx.conf`: the two upstreams and the Stepgate-protected server. */
export function nginxConfig(options: NginxConfigOptions): string {
  const { paths, httpPaths } = runDirectives(options.runDir);
  return `# Stepgate in front of an application with nginx auth_request.
daemon off;
worker_processes 1;
${paths}
events {
    worker_connections 256;
}

http {
${httpPaths}
    upstream stepgate_agent {
        server ${options.agent};
        keepalive 16;
    }

    upstream application {
        server ${options.upstream};
    }

${stepgateServer(options.listen)}
}
`;
}

/**
 * A complete `nginx.conf` that terminates TLS in front of the agent's own APIs (AuthZEN,
 * `/v1/decide`): the agent sees plain HTTP from a trusted proxy, and the scheme and host the
 * client used in `X-Forwarded-Proto` / `X-Forwarded-Host`.
 */
export function tlsProxyConfig(options: {
  listen: string;
  agent: string;
  certificate: string;
  key: string;
  runDir?: string;
}): string {
  const { paths, httpPaths } = runDirectives(options.runDir);
  return `# TLS termination in front of the Stepgate agent.
daemon off;
worker_processes 1;
${paths}
events {
    worker_connections 256;
}

http {
${httpPaths}
    server {
        listen ${options.listen} ssl;
        ssl_certificate ${options.certificate};
        ssl_certificate_key ${options.key};

        location / {
            proxy_pass http://${options.agent};
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            # What the client used, overwriting anything it sent itself.
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-Host $http_host;
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_set_header Forwarded "";
        }
    }
}
`;
}

/** Where a test's nginx keeps its pid, logs and temp files (nothing under /var). */
function runDirectives(run: string | undefined): { paths: string; httpPaths: string } {
  if (run === undefined) return { paths: '', httpPaths: '' };
  return {
    paths: `
pid ${run}/nginx.pid;
error_log ${run}/error.log info;
`,
    httpPaths: `
    access_log ${run}/access.log;
    client_body_temp_path ${run}/client_body;
    proxy_temp_path ${run}/proxy;
    fastcgi_temp_path ${run}/fastcgi;
    uwsgi_temp_path ${run}/uwsgi;
    scgi_temp_path ${run}/scgi;
`,
  };
}

/** The `server` block alone, for an existing nginx.conf that defines the two upstreams. */
export function stepgateServer(listen: string): string {
  return `    server {
        listen ${listen};

        location / {
            # Every request is decided by the agent first.
            auth_request /_stepgate;

            # Allowed: the verified principal, for the application (never the client's value).
            auth_request_set $stepgate_principal $upstream_http_x_stepgate_principal;
            proxy_set_header X-Stepgate-Principal $stepgate_principal;

            # Step-up: nginx answers 401 with the agent's WWW-Authenticate challenge itself
            # (auth_request copies it from the subrequest). Do not add it again with
            # add_header in an error_page location: the client would get it twice.

            proxy_pass http://application;
        }

        location = /_stepgate {
            internal;
            proxy_pass http://stepgate_agent/v1/authz/http;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            # Only the request line and the credentials matter, never the body.
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header X-Original-URI $request_uri;
            proxy_set_header X-Original-Method $request_method;
            proxy_set_header Authorization $http_authorization;
            # The client's address as nginx saw it, never the client's own headers.
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_set_header X-Real-IP $remote_addr;
            proxy_set_header Forwarded "";
        }
    }`;
}
