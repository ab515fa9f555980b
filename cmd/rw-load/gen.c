/*
 * The series rw-load sends: what one host's node_exporter exposes (about
 * 700 series under some 330 metric names: per-CPU, per-disk, per-NIC and
 * per-filesystem families, meminfo, vmstat, netstat, Go runtime, scrape
 * meta-metrics), with instance and job labels, repeated over as many hosts
 * as -series needs. Values move like the real ones: counters grow by a
 * per-series step with some noise, gauges wander, a few stay constant.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/xmalloc.h"
#include "lib/rw/remote_write.h"
#include "lib/tsdb/labels.h"
#include "cmd/rw-load/load.h"

#define MAX_LABELS	7

enum kind {
	KIND_COUNTER,
	KIND_SECONDS,	/* a counter of seconds: fractional */
	KIND_GAUGE,
	KIND_CONST,
	KIND_ONE,	/* up, *_info */
};

struct tmpl {
	struct label	 l[MAX_LABELS];	/* sorted by name */
	size_t		 nl;
	size_t		 inst;		/* index of the instance label */
	enum kind	 kind;
	uint64_t	 seed;
};

static struct tmpl	*cat;
static size_t		 ncat, capcat, nnames;

static const char *const cpus[] = { "0", "1", "2", "3", "4", "5", "6", "7" };
static const char *const cpu_modes[] = {
	"idle", "iowait", "irq", "nice", "softirq", "steal", "system", "user",
};
static const char *const per_cpu[] = {
	"node_cpu_scaling_frequency_hertz", "node_cpu_scaling_frequency_max_hertz",
	"node_cpu_scaling_frequency_min_hertz", "node_schedstat_running_seconds_total",
	"node_schedstat_timeslices_total", "node_schedstat_waiting_seconds_total",
	"node_softnet_dropped_total", "node_softnet_processed_total",
	"node_softnet_times_squeezed_total",
};
static const char *const disks[] = { "sda", "sdb", "nvme0n1", "dm-0" };
static const char *const disk_metrics[] = {
	"reads_completed_total", "reads_merged_total", "read_bytes_total",
	"read_time_seconds_total", "writes_completed_total", "writes_merged_total",
	"written_bytes_total", "write_time_seconds_total", "io_now",
	"io_time_seconds_total", "io_time_weighted_seconds_total",
	"discards_completed_total", "discards_merged_total", "discarded_sectors_total",
	"discard_time_seconds_total", "flush_requests_total",
	"flush_requests_time_seconds_total",
};
static const char *const nics[] = { "eth0", "eth1", "lo" };
static const char *const nic_metrics[] = {
	"receive_bytes_total", "receive_compressed_total", "receive_drop_total",
	"receive_errs_total", "receive_fifo_total", "receive_frame_total",
	"receive_multicast_total", "receive_packets_total", "transmit_bytes_total",
	"transmit_carrier_total", "transmit_colls_total", "transmit_compressed_total",
	"transmit_drop_total", "transmit_errs_total", "transmit_fifo_total",
	"transmit_packets_total", "up", "mtu_bytes", "speed_bytes", "carrier",
	"flags", "iface_id", "iface_link", "net_dev_group", "transmit_queue_length",
	"dormant", "protocol_type", "address_assign_type", "carrier_changes_total",
	"carrier_up_changes_total", "carrier_down_changes_total",
};
static const char *const mounts[][3] = {	/* mountpoint, device, fstype */
	{ "/", "/dev/sda1", "ext4" }, { "/boot", "/dev/sda2", "ext4" },
	{ "/home", "/dev/sdb1", "xfs" }, { "/run", "tmpfs", "tmpfs" },
};
static const char *const fs_metrics[] = {
	"avail_bytes", "device_error", "files", "files_free", "free_bytes",
	"readonly", "size_bytes",
};
static const char *const meminfo[] = {
	"Active", "Active_anon", "Active_file", "AnonHugePages", "AnonPages",
	"Bounce", "Buffers", "Cached", "CmaFree", "CmaTotal", "CommitLimit",
	"Committed_AS", "DirectMap1G", "DirectMap2M", "DirectMap4k", "Dirty",
	"FileHugePages", "FilePmdMapped", "HardwareCorrupted", "Hugepagesize",
	"Hugetlb", "Inactive", "Inactive_anon", "Inactive_file", "KReclaimable",
	"KernelStack", "Mapped", "MemAvailable", "MemFree", "MemTotal", "Mlocked",
	"NFS_Unstable", "PageTables", "Percpu", "SReclaimable", "SUnreclaim",
	"ShmemHugePages", "ShmemPmdMapped", "Shmem", "Slab", "SwapCached",
	"SwapFree", "SwapTotal", "Unevictable", "VmallocChunk", "VmallocTotal",
	"VmallocUsed", "Writeback", "WritebackTmp", "Zswap", "Zswapped",
};
static const char *const vmstat[] = {
	"oom_kill", "pgfault", "pgmajfault", "pgpgin", "pgpgout", "pswpin",
	"pswpout", "nr_free_pages", "nr_inactive_anon", "nr_active_anon",
	"nr_inactive_file", "nr_active_file", "nr_unevictable", "nr_mlock",
	"nr_anon_pages", "nr_mapped", "nr_file_pages", "nr_dirty", "nr_writeback",
	"nr_slab_reclaimable", "nr_slab_unreclaimable", "nr_page_table_pages",
	"nr_kernel_stack", "nr_bounce", "numa_hit", "numa_miss", "numa_foreign",
	"numa_interleave", "numa_local", "numa_other", "pgsteal_kswapd",
	"pgsteal_direct", "pgscan_kswapd", "pgscan_direct", "pgrefill", "pgfree",
	"pgactivate", "pgdeactivate", "pglazyfree", "pgrotated",
};
static const char *const netstat[] = {
	"Icmp_InErrors", "Icmp_InMsgs", "Icmp_OutMsgs", "Icmp6_InErrors",
	"Icmp6_InMsgs", "Icmp6_OutMsgs", "IpExt_InOctets", "IpExt_OutOctets",
	"Ip_Forwarding", "Ip6_InOctets", "Ip6_OutOctets", "TcpExt_ListenDrops",
	"TcpExt_ListenOverflows", "TcpExt_SyncookiesFailed", "TcpExt_SyncookiesRecv",
	"TcpExt_SyncookiesSent", "TcpExt_TCPSynRetrans", "TcpExt_TCPTimeouts",
	"Tcp_ActiveOpens", "Tcp_CurrEstab", "Tcp_InErrs", "Tcp_InSegs",
	"Tcp_OutRsts", "Tcp_OutSegs", "Tcp_PassiveOpens", "Tcp_RetransSegs",
	"Udp6_InDatagrams", "Udp6_InErrors", "Udp6_NoPorts", "Udp6_OutDatagrams",
	"Udp6_RcvbufErrors", "Udp6_SndbufErrors", "UdpLite6_InErrors",
	"UdpLite_InErrors", "Udp_InDatagrams", "Udp_InErrors", "Udp_NoPorts",
	"Udp_OutDatagrams", "Udp_RcvbufErrors", "Udp_SndbufErrors",
};
static const char *const sockstat[] = {
	"FRAG_inuse", "FRAG_memory", "RAW_inuse", "TCP_alloc", "TCP_inuse",
	"TCP_mem", "TCP_mem_bytes", "TCP_orphan", "TCP_tw", "UDPLITE_inuse",
	"UDP_inuse", "UDP_mem", "UDP_mem_bytes", "sockets_used", "FRAG6_inuse",
	"FRAG6_memory", "RAW6_inuse", "TCP6_inuse", "UDP6_inuse", "UDPLITE6_inuse",
};
static const char *const timex[] = {
	"estimated_error_seconds", "frequency_adjustment_ratio", "loop_time_constant",
	"maxerror_seconds", "offset_seconds", "pps_calibration_total",
	"pps_error_total", "pps_frequency_hertz", "pps_jitter_seconds",
	"pps_jitter_total", "pps_shift_seconds", "pps_stability_exceeded_total",
	"pps_stability_hertz", "status", "sync_status", "tai_offset_seconds",
	"tick_seconds",
};
static const char *const singles[] = {
	"node_load1", "node_load5", "node_load15", "node_boot_time_seconds",
	"node_context_switches_total", "node_forks_total", "node_intr_total",
	"node_procs_blocked", "node_procs_running", "node_time_seconds",
	"node_entropy_available_bits", "node_entropy_pool_size_bits",
	"node_filefd_allocated", "node_filefd_maximum", "node_nf_conntrack_entries",
	"node_nf_conntrack_entries_limit", "node_processes_max_processes",
	"node_processes_max_threads", "node_processes_pids", "node_processes_threads",
	"node_uname_info", "node_exporter_build_info", "node_textfile_scrape_error",
	"node_selinux_enabled", "node_pressure_cpu_waiting_seconds_total",
	"node_pressure_io_stalled_seconds_total", "node_pressure_io_waiting_seconds_total",
	"node_pressure_memory_stalled_seconds_total",
	"node_pressure_memory_waiting_seconds_total", "process_cpu_seconds_total",
	"process_max_fds", "process_open_fds", "process_resident_memory_bytes",
	"process_start_time_seconds", "process_virtual_memory_bytes",
	"process_virtual_memory_max_bytes", "go_gc_duration_seconds_sum",
	"go_gc_duration_seconds_count", "go_goroutines", "go_threads", "go_info",
	"up", "scrape_duration_seconds", "scrape_samples_scraped",
	"scrape_samples_post_metric_relabeling", "scrape_series_added",
};
static const char *const memstats[] = {
	"alloc_bytes", "alloc_bytes_total", "buck_hash_sys_bytes", "frees_total",
	"gc_sys_bytes", "heap_alloc_bytes", "heap_idle_bytes", "heap_inuse_bytes",
	"heap_objects", "heap_released_bytes", "heap_sys_bytes",
	"last_gc_time_seconds", "lookups_total", "mallocs_total",
	"mcache_inuse_bytes", "mcache_sys_bytes", "mspan_inuse_bytes",
	"mspan_sys_bytes", "next_gc_bytes", "other_sys_bytes", "stack_inuse_bytes",
	"stack_sys_bytes", "sys_bytes",
};
static const char *const quantiles[] = { "0", "0.25", "0.5", "0.75", "1" };
static const char *const collectors[] = {
	"arp", "bcache", "bonding", "btrfs", "conntrack", "cpu", "cpufreq",
	"diskstats", "dmi", "edac", "entropy", "fibrechannel", "filefd",
	"filesystem", "hwmon", "infiniband", "ipvs", "loadavg", "mdadm", "meminfo",
	"netclass", "netdev", "netstat", "nfs", "nfsd", "nvme", "os",
	"powersupplyclass", "pressure", "rapl", "schedstat", "selinux", "sockstat",
	"softnet", "stat", "tapestats", "textfile", "thermal_zone", "time", "timex",
	"udp_queues", "uname", "vmstat", "xfs", "zfs",
};

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

static uint64_t
mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static int
has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static enum kind
kind_of(const char *name)
{
	if (strcmp(name, "up") == 0 || has_suffix(name, "_info"))
		return KIND_ONE;
	if (has_suffix(name, "_seconds_total") || has_suffix(name, "_seconds_sum"))
		return KIND_SECONDS;
	if (has_suffix(name, "_total") || has_suffix(name, "_count"))
		return KIND_COUNTER;
	if (strstr(name, "max") != NULL || strstr(name, "size") != NULL ||
	    strstr(name, "Total") != NULL || strstr(name, "mtu") != NULL ||
	    strstr(name, "boot_time") != NULL || strstr(name, "start_time") != NULL)
		return KIND_CONST;
	return KIND_GAUGE;
}

/*
 * One template: the name, then up to three name/value pairs (NULL ends),
 * plus instance and job. The labels are sorted as Prometheus sends them.
 */
static void
add(const char *name, const char *n1, const char *v1, const char *n2,
    const char *v2, const char *n3, const char *v3)
{
	const char *pairs[][2] = { { n1, v1 }, { n2, v2 }, { n3, v3 } };
	struct labels ls;
	struct tmpl *t;

	if (ncat == capcat) {
		capcat = capcat == 0 ? 1024 : capcat * 2;
		cat = xreallocarray(cat, capcat, sizeof(*cat));
	}
	t = &cat[ncat++];
	memset(t, 0, sizeof(*t));
	t->l[t->nl++] = (struct label){ STR_LIT("__name__"), str_c(name) };
	t->l[t->nl++] = (struct label){ STR_LIT("job"), STR_LIT("node") };
	t->l[t->nl++] = (struct label){ STR_LIT("instance"), STR_LIT("") };
	for (size_t i = 0; i < NELEM(pairs) && pairs[i][0] != NULL; i++)
		t->l[t->nl++] = (struct label){ str_c(pairs[i][0]), str_c(pairs[i][1]) };
	ls.v = t->l;
	ls.n = t->nl;
	labels_sort(&ls);
	for (size_t i = 0; i < t->nl; i++)
		if (str_eq(t->l[i].name, STR_LIT("instance")))
			t->inst = i;
	t->kind = kind_of(name);
	t->seed = mix(ncat);
}

static const char *
fmt(const char *f, const char *a)
{
	char *s;

	/* The catalog lives as long as the process. */
	xasprintf(&s, f, a);
	return s;
}

static void
catalog(void)
{
	const char *n;

	for (size_t c = 0; c < NELEM(cpus); c++) {
		for (size_t m = 0; m < NELEM(cpu_modes); m++)
			add("node_cpu_seconds_total", "cpu", cpus[c], "mode", cpu_modes[m],
			    NULL, NULL);
		add("node_cpu_guest_seconds_total", "cpu", cpus[c], "mode", "nice", NULL, NULL);
		add("node_cpu_guest_seconds_total", "cpu", cpus[c], "mode", "user", NULL, NULL);
	}
	for (size_t i = 0; i < NELEM(per_cpu); i++)
		for (size_t c = 0; c < NELEM(cpus); c++)
			add(per_cpu[i], "cpu", cpus[c], NULL, NULL, NULL, NULL);
	for (size_t i = 0; i < NELEM(disk_metrics); i++) {
		n = fmt("node_disk_%s", disk_metrics[i]);
		for (size_t d = 0; d < NELEM(disks); d++)
			add(n, "device", disks[d], NULL, NULL, NULL, NULL);
	}
	for (size_t i = 0; i < NELEM(nic_metrics); i++) {
		n = fmt("node_network_%s", nic_metrics[i]);
		for (size_t d = 0; d < NELEM(nics); d++)
			add(n, "device", nics[d], NULL, NULL, NULL, NULL);
	}
	for (size_t i = 0; i < NELEM(fs_metrics); i++) {
		n = fmt("node_filesystem_%s", fs_metrics[i]);
		for (size_t d = 0; d < NELEM(mounts); d++)
			add(n, "device", mounts[d][1], "fstype", mounts[d][2],
			    "mountpoint", mounts[d][0]);
	}
	for (size_t s = 1; s <= 5; s++) {
		static const char *const sensors[] = { "temp1", "temp2", "temp3", "temp4", "temp5" };

		add("node_hwmon_temp_celsius", "chip", "platform_coretemp_0", "sensor",
		    sensors[s - 1], NULL, NULL);
		add("node_hwmon_temp_crit_celsius", "chip", "platform_coretemp_0", "sensor",
		    sensors[s - 1], NULL, NULL);
		add("node_hwmon_temp_max_celsius", "chip", "platform_coretemp_0", "sensor",
		    sensors[s - 1], NULL, NULL);
	}
	for (size_t i = 0; i < NELEM(meminfo); i++)
		add(fmt("node_memory_%s_bytes", meminfo[i]), NULL, NULL, NULL, NULL, NULL, NULL);
	for (size_t i = 0; i < NELEM(vmstat); i++)
		add(fmt("node_vmstat_%s", vmstat[i]), NULL, NULL, NULL, NULL, NULL, NULL);
	for (size_t i = 0; i < NELEM(netstat); i++)
		add(fmt("node_netstat_%s", netstat[i]), NULL, NULL, NULL, NULL, NULL, NULL);
	for (size_t i = 0; i < NELEM(sockstat); i++)
		add(fmt("node_sockstat_%s", sockstat[i]), NULL, NULL, NULL, NULL, NULL, NULL);
	for (size_t i = 0; i < NELEM(timex); i++)
		add(fmt("node_timex_%s", timex[i]), NULL, NULL, NULL, NULL, NULL, NULL);
	for (size_t i = 0; i < NELEM(memstats); i++)
		add(fmt("go_memstats_%s", memstats[i]), NULL, NULL, NULL, NULL, NULL, NULL);
	for (size_t i = 0; i < NELEM(singles); i++)
		add(singles[i], NULL, NULL, NULL, NULL, NULL, NULL);
	for (size_t i = 0; i < NELEM(quantiles); i++)
		add("go_gc_duration_seconds", "quantile", quantiles[i], NULL, NULL, NULL, NULL);
	for (size_t i = 0; i < NELEM(collectors); i++) {
		add("node_scrape_collector_duration_seconds", "collector", collectors[i],
		    NULL, NULL, NULL, NULL);
		add("node_scrape_collector_success", "collector", collectors[i],
		    NULL, NULL, NULL, NULL);
	}
}

static int
cmp_str(const void *a, const void *b)
{
	return str_cmp(*(const struct str *)a, *(const struct str *)b);
}

/* Distinct metric names: the families above share names across label values. */
static size_t
count_names(void)
{
	struct str *names = xcalloc(ncat, sizeof(*names));
	size_t n = 0;

	for (size_t i = 0; i < ncat; i++)
		names[i] = cat[i].l[0].value;
	qsort(names, ncat, sizeof(*names), cmp_str);
	for (size_t i = 0; i < ncat; i++)
		if (i == 0 || !str_eq(names[i], names[i - 1]))
			n++;
	free(names);
	return n;
}

void
gen_init(struct gen *g, size_t nseries, double churn)
{
	if (cat == NULL) {
		catalog();
		nnames = count_names();
	}
	g->nseries = nseries;
	g->per_host = ncat;
	g->nhosts = (nseries + ncat - 1) / ncat;
	g->churn = churn;
}

size_t
gen_metric_names(void)
{
	return nnames;
}

uint32_t
gen_generation(const struct gen *g, size_t slot, int64_t elapsed_ms)
{
	uint64_t k;

	if (g->churn <= 0 || elapsed_ms <= 0)
		return 0;
	k = (uint64_t)floor(g->churn * (double)g->nseries * (double)elapsed_ms / 60000.0);
	return (uint32_t)(k / g->nseries + (slot < k % g->nseries ? 1 : 0));
}

static double
value(const struct tmpl *t, size_t slot, uint64_t round)
{
	uint64_t h = mix(t->seed ^ slot * 0x100000001b3ULL ^ round << 20);
	uint64_t step = 1 + t->seed % 1000;

	switch (t->kind) {
	case KIND_COUNTER:
		/* Each round adds between step/2 and 3*step/2: never decreasing. */
		return (double)(round * step + h % step / 2);
	case KIND_SECONDS:
		return (double)(round * step + h % step / 2) / 100;
	case KIND_GAUGE:
		return (double)(t->seed % 100000) + (double)(h % 1000) / 8;
	case KIND_CONST:
		return (double)(t->seed % 1000000000);
	case KIND_ONE:
		break;
	}
	return 1;
}

void
gen_series(const struct gen *g, struct buf *b, size_t slot, uint32_t generation,
    uint64_t round, int64_t t)
{
	const struct tmpl *tp = &cat[slot % g->per_host];
	unsigned long long host = slot / g->per_host +
	    (unsigned long long)generation * g->nhosts;
	struct label l[MAX_LABELS];
	struct labels ls = { l, tp->nl };
	char inst[48];
	double v = value(tp, slot, round);
	uint64_t bits;
	size_t m;
	int n;

	n = snprintf(inst, sizeof(inst), "host-%llu:9100", host);
	memcpy(l, tp->l, tp->nl * sizeof(l[0]));
	l[tp->inst].value = (struct str){ inst, (size_t)n };
	memcpy(&bits, &v, sizeof(bits));
	m = rw_series_open(b, &ls);
	rw_series_sample(b, t, bits);
	rw_series_close(b, m);
}
