/*
 * tls — the client side of TLS for libevent connections, configured the
 * way dskit's crypto/tls ClientConfig is (the same flag and YAML names
 * under a program's prefix): a CA file to verify the server against (else
 * the system's roots), a client certificate and key for mutual TLS, the
 * name expected on the server certificate (else the host dialled, a DNS
 * name or an IP address), verification off on request, a minimum version.
 */
#ifndef RINGTAIL_TLS_H
#define RINGTAIL_TLS_H

#include "lib/base/err.h"

struct bufferevent;
struct event_base;

struct tls_client_config {
	int		 enabled;
	const char	*cert_path;
	const char	*key_path;
	const char	*ca_path;
	const char	*server_name;
	int		 insecure_skip_verify;
	const char	*min_version;	/* VersionTLS12, VersionTLS13 (Go's names); "": default */
};

struct tls_client;

/*
 * Loads the certificates and keys. NULL with e naming the file and
 * OpenSSL's reason, or dskit's text for a certificate without a key and
 * the other way round.
 */
struct tls_client *tls_client_new(const struct tls_client_config *, struct err *e);
void	 tls_client_free(struct tls_client *);
/*
 * A bufferevent for evhttp_connection_base_bufferevent_new that will do
 * the handshake with host once connected; NULL when OpenSSL fails.
 */
struct bufferevent *tls_client_bufferevent(struct tls_client *, struct event_base *,
	    const char *host);
/*
 * Why the handshake on bev failed, "" when it did not: the certificate's
 * verification error ("certificate has expired") or OpenSSL's first error.
 */
void	 tls_client_error(struct bufferevent *bev, char *out, size_t outsz);

#endif
