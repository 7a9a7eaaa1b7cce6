/**
 * The options of uWSGI 2.0.21's plugins other than python (the one nuwsgi
 * is), from the option tables in uWSGI's plugins/ sources, minus the names
 * the registry already has (`http`, `http-timeout`, `cheaper-busyness-*`...).
 *
 * uWSGI knows these only once the plugin is loaded (`plugins = http`, or
 * built in, as in pip's uWSGI), so a configuration that uWSGI runs may use
 * them anywhere, the command line included. nuwsgi accepts them with one
 * warning naming the plugin and ignores them; they are not registry rows (no
 * --help lines, no typed values), and on the command line they are matched
 * only when written in full, so abbreviations resolve as they do against
 * uWSGI's core and python options.
 *
 * A trailing `!` marks an option that takes no value (getopt's no_argument),
 * `?` one whose value is optional; the others require one.
 */
export const PLUGIN_OPTIONS: Readonly<Record<string, readonly string[]>> = {
  asyncio: [
    'asyncio',
  ],
  carbon: [
    'carbon-timeout', 'carbon-freq', 'carbon-id', 'carbon-no-workers!', 'carbon-max-retry', 'carbon-retry-delay', 'carbon-root',
    'carbon-hostname-dots', 'carbon-name-resolve!', 'carbon-resolve-names!', 'carbon-idle-avg', 'carbon-use-metrics!',
  ],
  cgi: [
    'cgi', 'cgi-map-helper', 'cgi-helper', 'cgi-from-docroot!', 'cgi-buffer-size', 'cgi-timeout', 'cgi-index', 'cgi-allowed-ext', 'cgi-unset',
    'cgi-loadlib', 'cgi-optimize!', 'cgi-optimized!', 'cgi-path-info!', 'cgi-do-not-kill-on-error!', 'cgi-async-max-attempts!',
    'cgi-close-stdin-on-eof!', 'cgi-safe',
  ],
  coroae: [
    'coroae',
  ],
  curl_cron: [
    'curl-cron', 'cron-curl', 'legion-curl-cron', 'legion-cron-curl', 'curl-cron-legion', 'cron-curl-legion',
  ],
  dumbloop: [
    'dumbloop-modifier1', 'dumbloop-code', 'dumbloop-function',
  ],
  fastrouter: [
    'fastrouter', 'fastrouter-processes', 'fastrouter-workers', 'fastrouter-zerg', 'fastrouter-use-cache?', 'fastrouter-use-pattern',
    'fastrouter-use-base', 'fastrouter-fallback', 'fastrouter-use-code-string', 'fastrouter-use-socket?', 'fastrouter-to', 'fastrouter-gracetime',
    'fastrouter-events', 'fastrouter-quiet', 'fastrouter-cheap!', 'fastrouter-subscription-server', 'fastrouter-subscription-slot',
    'fastrouter-timeout', 'fastrouter-post-buffering', 'fastrouter-post-buffering-dir', 'fastrouter-stats', 'fastrouter-stats-server',
    'fastrouter-ss', 'fastrouter-harakiri', 'fastrouter-uid', 'fastrouter-gid', 'fastrouter-resubscribe', 'fastrouter-resubscribe-bind',
    'fastrouter-buffer-size', 'fastrouter-fallback-on-no-key!', 'fastrouter-subscription-fallback-key',
  ],
  fiber: [
    'fiber!',
  ],
  forkptyrouter: [
    'forkptyrouter', 'forkpty-router', 'forkptyurouter', 'forkpty-urouter', 'forkptyrouter-command', 'forkpty-router-command', 'forkptyrouter-cmd',
    'forkpty-router-cmd', 'forkptyrouter-rows', 'forkptyrouter-cols', 'forkptyrouter-processes', 'forkptyrouter-workers', 'forkptyrouter-zerg',
    'forkptyrouter-fallback', 'forkptyrouter-events', 'forkptyrouter-cheap!', 'forkptyrouter-timeout', 'forkptyrouter-stats',
    'forkptyrouter-stats-server', 'forkptyrouter-ss', 'forkptyrouter-harakiri',
  ],
  gccgo: [
    'go-load', 'gccgo-load', 'go-args', 'gccgo-args', 'goroutines',
  ],
  geoip: [
    'geoip-country', 'geoip-city', 'geoip-use-disk!',
  ],
  gevent: [
    'gevent-monkey-patch!', 'gevent-early-monkey-patch!', 'gevent-wait-for-hub!',
  ],
  glusterfs: [
    'glusterfs-mount', 'glusterfs-timeout',
  ],
  greenlet: [
    'greenlet!',
  ],
  gridfs: [
    'gridfs-mount', 'gridfs-debug!',
  ],
  http: [
    'httprouter', 'https2', 'https-export-cert!', 'https-session-context', 'http-to-https', 'http-var', 'http-zerg', 'http-fallback',
    'http-modifier1', 'http-modifier2', 'http-use-cache?', 'http-use-pattern', 'http-use-base', 'http-events', 'http-subscription-server',
    'http-subscription-fallback-key', 'http-manage-expect?', 'http-auto-gzip!', 'http-raw-body!', 'http-chunked-input!', 'http-use-code-string',
    'http-use-socket?', 'http-gracetime', 'http-quiet', 'http-cheap!', 'http-stats', 'http-stats-server', 'http-ss', 'http-harakiri',
    'http-stud-prefix', 'http-uid', 'http-gid', 'http-resubscribe', 'http-buffer-size', 'http-server-name-as-http-host', 'http-headers-timeout',
    'http-connect-timeout', 'http-manage-source!', 'http-manage-rtsp!', 'http-enable-proxy-protocol?',
  ],
  jvm: [
    'jvm-main-class', 'jvm-opt', 'jvm-class', 'jvm-classpath',
  ],
  jwsgi: [
    'jwsgi',
  ],
  ldap: [
    'ldap', 'ldap-schema!', 'ldap-schema-ldif!',
  ],
  logzmq: [
    'log-zeromq',
  ],
  lua: [
    'lua', 'lua-load', 'lua-shell!', 'luashell!', 'lua-gc-freq!',
  ],
  mongrel2: [
    'zeromq', 'zmq', 'zeromq-socket', 'zmq-socket', 'mongrel2',
  ],
  mono: [
    'mono-app', 'mono-gc-freq', 'mono-key', 'mono-version', 'mono-config', 'mono-assembly', 'mono-exec', 'mono-index',
  ],
  nagios: [
    'nagios!',
  ],
  notfound: [
    'notfound-log!',
  ],
  pam: [
    'pam', 'pam-user',
  ],
  php: [
    'php-ini', 'php-config', 'php-ini-append', 'php-config-append', 'php-set', 'php-index', 'php-docroot', 'php-allowed-docroot', 'php-allowed-ext',
    'php-allowed-script', 'php-server-software', 'php-app', 'php-app-qs', 'php-fallback', 'php-fallback2', 'php-fallback-qs', 'php-app-bypass',
    'php-var', 'php-constant', 'php-dump-config!', 'php-exec-before', 'php-exec-begin', 'php-exec-after', 'php-exec-end', 'php-sapi-name',
  ],
  ping: [
    'ping', 'ping-timeout',
  ],
  psgi: [
    'psgi', 'psgi-enable-psgix-io!', 'perl-no-die-catch!', 'perl-local-lib', 'perl-version!', 'perl-args', 'perl-arg', 'perl-exec',
    'perl-exec-post-fork', 'perl-auto-reload', 'perl-auto-reload-ignore', 'plshell?', 'plshell-oneshot!', 'perl-no-plack!',
  ],
  pty: [
    'pty-socket', 'pty-log!', 'pty-input!', 'pty-connect', 'pty-uconnect', 'pty-no-isig!', 'pty-exec',
  ],
  pypy: [
    'pypy-lib', 'pypy-setup', 'pypy-home', 'pypy-wsgi', 'pypy-wsgi-file', 'pypy-ini-paste', 'pypy-paste', 'pypy-eval', 'pypy-eval-post-fork',
    'pypy-exec', 'pypy-exec-post-fork', 'pypy-pp', 'pypy-python-path', 'pypy-pythonpath',
  ],
  rack: [
    'rails', 'rack', 'ruby-gc-freq', 'rb-gc-freq', 'rb-lib', 'ruby-lib', 'rb-require', 'ruby-require', 'rbrequire', 'rubyrequire', 'require',
    'shared-rb-require', 'shared-ruby-require', 'shared-rbrequire', 'shared-rubyrequire', 'shared-require', 'gemset', 'rvm', 'rvm-path', 'rbshell?',
    'rbshell-oneshot!',
  ],
  rados: [
    'rados-mount', 'rados-timeout',
  ],
  rawrouter: [
    'rawrouter', 'rawrouter-processes', 'rawrouter-workers', 'rawrouter-zerg', 'rawrouter-use-cache?', 'rawrouter-use-pattern', 'rawrouter-use-base',
    'rawrouter-fallback', 'rawrouter-use-code-string', 'rawrouter-use-socket?', 'rawrouter-to', 'rawrouter-gracetime', 'rawrouter-events',
    'rawrouter-max-retries', 'rawrouter-quiet', 'rawrouter-cheap!', 'rawrouter-subscription-server', 'rawrouter-subscription-slot',
    'rawrouter-timeout', 'rawrouter-stats', 'rawrouter-stats-server', 'rawrouter-ss', 'rawrouter-harakiri', 'rawrouter-xclient!',
    'rawrouter-buffer-size',
  ],
  rbthreads: [
    'rbthreads!', 'rb-threads!', 'rbthread!', 'rb-thread!',
  ],
  ring: [
    'ring-load', 'clojure-load', 'ring-app',
  ],
  rrdtool: [
    'rrdtool', 'rrdtool-freq', 'rrdtool-lib',
  ],
  rsyslog: [
    'rsyslog-packet-size', 'rsyslog-split-messages!',
  ],
  sslrouter: [
    'sslrouter', 'sslrouter2', 'sslrouter-session-context', 'sslrouter-processes', 'sslrouter-workers', 'sslrouter-zerg', 'sslrouter-use-cache?',
    'sslrouter-use-pattern', 'sslrouter-use-base', 'sslrouter-fallback', 'sslrouter-use-code-string', 'sslrouter-use-socket?', 'sslrouter-to',
    'sslrouter-gracetime', 'sslrouter-events', 'sslrouter-max-retries', 'sslrouter-quiet', 'sslrouter-cheap!', 'sslrouter-subscription-server',
    'sslrouter-timeout', 'sslrouter-stats', 'sslrouter-stats-server', 'sslrouter-ss', 'sslrouter-harakiri', 'sslrouter-sni!',
    'sslrouter-buffer-size',
  ],
  stackless: [
    'stackless!',
  ],
  symcall: [
    'symcall', 'symcall-use-next!', 'symcall-register-rpc', 'symcall-post-fork',
  ],
  tornado: [
    'tornado',
  ],
  tuntap: [
    'tuntap-router', 'tuntap-device', 'tuntap-use-credentials?', 'tuntap-router-firewall-in', 'tuntap-router-firewall-out', 'tuntap-router-route',
    'tuntap-router-stats', 'tuntap-device-rule',
  ],
  ugreen: [
    'ugreen!', 'ugreen-stacksize',
  ],
  v8: [
    'v8-load', 'v8-preemptive', 'v8-gc-freq', 'v8-module-path', 'v8-jsgi',
  ],
  webdav: [
    'webdav-mount', 'webdav-css', 'webdav-javascript', 'webdav-js', 'webdav-class-directory', 'webdav-div', 'webdav-lock-cache',
    'webdav-principal-base', 'webdav-add-option', 'webdav-add-prop', 'webdav-add-collection-prop', 'webdav-add-object-prop', 'webdav-add-prop-href',
    'webdav-add-collection-prop-href', 'webdav-add-object-prop-href', 'webdav-add-prop-comp', 'webdav-add-collection-prop-comp',
    'webdav-add-object-prop-comp', 'webdav-add-rtype-prop', 'webdav-add-rtype-collection-prop', 'webdav-add-rtype-object-prop', 'webdav-skip-prop',
  ],
  xslt: [
    'xslt-docroot', 'xslt-ext', 'xslt-var', 'xslt-stylesheet', 'xslt-content-type',
  ],
  zabbix: [
    'zabbix-template?',
  ],
  zergpool: [
    'zergpool', 'zerg-pool',
  ],
};
