#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "lib/base/tls.h"
#include "lib/base/xmalloc.h"

struct tls_client {
	SSL_CTX		*ctx;
	char		*server_name;	/* NULL: the host dialled */
	int		 verify;
};

/* OpenSSL's reason for code, without its "error:0A000412:SSL routines::" head. */
static const char *
reason_text(unsigned long code, char *out, size_t outsz)
{
	const char *r = ERR_reason_error_string(code);

	if (r != NULL)
		snprintf(out, outsz, "%s", r);
	else
		ERR_error_string_n(code, out, outsz);
	return out;
}

/* OpenSSL's first queued error as text, the queue emptied. */
static const char *
ssl_reason(char *out, size_t outsz)
{
	unsigned long code = ERR_get_error();

	if (code == 0)
		snprintf(out, outsz, "unknown error");
	else
		reason_text(code, out, outsz);
	ERR_clear_error();
	return out;
}

static int
min_version(SSL_CTX *ctx, const char *name, struct err *e)
{
	static const struct { const char *name; int v; } versions[] = {
		{ "VersionTLS10", TLS1_VERSION }, { "VersionTLS11", TLS1_1_VERSION },
		{ "VersionTLS12", TLS1_2_VERSION }, { "VersionTLS13", TLS1_3_VERSION },
	};

	if (name == NULL || *name == '\0')
		return 0;
	for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++)
		if (strcmp(name, versions[i].name) == 0) {
			SSL_CTX_set_min_proto_version(ctx, versions[i].v);
			return 0;
		}
	return err_set(e, "unknown minimum TLS version: \"%s\"", name);
}

static int
load_files(SSL_CTX *ctx, const struct tls_client_config *c, struct err *e)
{
	int has_cert = c->cert_path != NULL && *c->cert_path != '\0';
	int has_key = c->key_path != NULL && *c->key_path != '\0';
	char why[256];

	if (c->ca_path != NULL && *c->ca_path != '\0') {
		if (SSL_CTX_load_verify_locations(ctx, c->ca_path, NULL) != 1)
			return err_set(e, "error loading ca cert: %s: %s", c->ca_path,
			    ssl_reason(why, sizeof(why)));
	} else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
		return err_set(e, "cannot load the system's CA certificates: %s",
		    ssl_reason(why, sizeof(why)));
	}
	if (has_cert && !has_key)
		return err_set(e, "certificate given but no key configured");
	if (has_key && !has_cert)
		return err_set(e, "key given but no certificate configured");
	if (!has_cert)
		return 0;
	if (SSL_CTX_use_certificate_chain_file(ctx, c->cert_path) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, c->key_path, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1)
		return err_set(e, "failed to load TLS certificate %s,%s: %s", c->cert_path,
		    c->key_path, ssl_reason(why, sizeof(why)));
	return 0;
}

struct tls_client *
tls_client_new(const struct tls_client_config *c, struct err *e)
{
	struct tls_client *t = xcalloc(1, sizeof(*t));
	char why[256];

	if ((t->ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		err_set(e, "cannot create a TLS context: %s", ssl_reason(why, sizeof(why)));
		tls_client_free(t);
		return NULL;
	}
	if (load_files(t->ctx, c, e) == -1 || min_version(t->ctx, c->min_version, e) == -1) {
		tls_client_free(t);
		return NULL;
	}
	t->verify = !c->insecure_skip_verify;
	SSL_CTX_set_verify(t->ctx, t->verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
	if (c->server_name != NULL && *c->server_name != '\0')
		t->server_name = xstrdup(c->server_name);
	return t;
}

void
tls_client_free(struct tls_client *t)
{
	if (t == NULL)
		return;
	SSL_CTX_free(t->ctx);
	free(t->server_name);
	free(t);
}

static int
is_ip(const char *s)
{
	unsigned char a[16];

	return inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1;
}

struct bufferevent *
tls_client_bufferevent(struct tls_client *t, struct event_base *base, const char *host)
{
	const char *name = t->server_name != NULL ? t->server_name : host;
	struct bufferevent *bev;
	SSL *ssl;

	if ((ssl = SSL_new(t->ctx)) == NULL)
		return NULL;
	/* SNI carries DNS names only; the certificate must name an IP in its SANs. */
	if (!is_ip(name))
		SSL_set_tlsext_host_name(ssl, name);
	if (t->verify && (is_ip(name) ?
	    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name) : SSL_set1_host(ssl, name)) != 1) {
		SSL_free(ssl);
		return NULL;
	}
	bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (bev == NULL) {
		SSL_free(ssl);
		return NULL;
	}
	/* Servers close without close_notify after an idle keep-alive; that is not an error. */
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

void
tls_client_error(struct bufferevent *bev, char *out, size_t outsz)
{
	SSL *ssl = bev != NULL ? bufferevent_openssl_get_ssl(bev) : NULL;
	unsigned long code;
	long v;

	*out = '\0';
	if (ssl == NULL)
		return;
	if ((v = SSL_get_verify_result(ssl)) != X509_V_OK) {
		snprintf(out, outsz, "TLS: certificate verify failed: %s",
		    X509_verify_cert_error_string(v));
		return;
	}
	if ((code = bufferevent_get_openssl_error(bev)) != 0) {
		char why[256];

		snprintf(out, outsz, "TLS: %s", reason_text(code, why, sizeof(why)));
	}
}
