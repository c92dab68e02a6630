-- cc_site: a rewrite-heavy Apache site deployed from a config TEMPLATE with
-- ${name} placeholders (${port} ${host} ${dir} ${proto} ${logdir}: the
-- convention of the creativecommons.org config) and a docroot directory.
-- "example" means the small example site shipped in this cookbook
-- (files/example/): point these at another site, e.g. the creativecommons.org
-- fixture, with --attr cc_site.template=... --attr cc_site.docroot_source=...
default.cc_site.template = "example"
default.cc_site.docroot_source = "example"
default.cc_site.port = 8080
default.cc_site.server_name = "localhost"
-- http or https. With https a self-signed certificate is generated for
-- server_name where the config's SSLCertificateFile points.
default.cc_site.proto = "http"
-- With https: false keeps the certificate paths the config names
-- (/etc/ssl/private/HOST.crt ...); a directory puts the generated
-- self-signed certificate and key there instead (the config is changed to
-- match, with a "# ccchef:" comment).
default.cc_site.ssl_dir = false
-- Listen on this address only ("127.0.0.1"); "" listens on all.
default.cc_site.bind = ""
default.cc_site.dir = "/srv/cc_site"
default.cc_site.site_name = "cc_site"
default.cc_site.modules = { "rewrite", "headers", "alias", "mime", "dir" }
-- What the site must answer, checked by a private Apache on the candidate
-- before any change goes live (rewrite_expect, docs/apache.md): a list of
-- { path = "/choose", status = 301, location = "/choose/" [, host =, body =] }.
-- Empty by default: each expectation costs the check on every run.
default.cc_site.expectations = {}
-- Redirects written as data (rewrite_redirects rules), included by the
-- example site's config from ${dir}/redirects.conf.
default.cc_site.redirects = {
  { "/old-about", "/about/", 301 },
  { "/blog", "https://blog.example.org/", 302, trailing_slash = "optional" },
  { "/retired", nil, 410 },
}
