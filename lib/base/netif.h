/*
 * netif — this host's address as Cortex picks it for the ring
 * (-ingester.lifecycler.interface): the first IPv4 address of an
 * interface that is up and not loopback, private ranges first.
 */
#ifndef RINGTAIL_NETIF_H
#define RINGTAIL_NETIF_H

#include <stddef.h>

/* The address as text into out; "127.0.0.1" when the host has no other. */
void	netif_default_addr(char *out, size_t len);

#endif
