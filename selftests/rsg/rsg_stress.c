// SPDX-License-Identifier: GPL-2.0
/*
 * Load for removal_load.sh: threads that keep requests going against the
 * nodes of one driver's scsi_debug LUs while hosts come and go.
 *
 *   rsg_stress -d rsg|sg [-t THREADS] [-n REQS] [-x HOST]... [-w SECONDS]
 *
 * Each thread works in rounds of REQS requests on one fd: synchronous
 * SG_IO, asynchronous write() then read() of v3 headers, and (rsg only)
 * RSG_IOQUEUE / RSG_IOQUEUE_BATCH then RSG_IOGET_BATCH, in turn. Even
 * threads follow the newest host (the one being removed and added),
 * odd ones stay where they are until their node goes. A failure with an
 * errno removal explains (ENODEV, ENXIO, EIO, ENOENT at open) ends the
 * round: the fd is closed with whatever it still has running, and the
 * thread opens a node again once one is there. Hosts named with -x are
 * left alone.
 *
 * Runs until SIGTERM or SIGINT, then waits at most -w seconds (default 60)
 * for the threads to end and prints one summary line:
 *
 *   stress DRV threads=N ended=N rounds=N requests=N ok=N scsi_err=N
 *   errno=N opens=N reopens=N ok_new_hosts=N unexpected=N
 *
 * ok_new_hosts counts good requests on LUs that came after the start.
 * Exits 0 when every thread ended and nothing unexpected happened.
 */

#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/uio.h>
#include <scsi/sg.h>

#include "rsg_test.h"
#include "scsi/rsg.h"

#define MAX_THREADS	64
#define MAX_REQS	16
#define MAX_HOSTS	16
#define MAX_NODES	256
#define XFER		4096
/* Long enough for any command scsi_debug delays; an expiry is a hang. */
#define CMD_TIMEOUT_MS	30000
#define GET_WAIT_MS	30000

enum mode { M_SG_IO, M_WRITE_READ, M_QUEUE, M_NR };

static const char *drv = "rsg";
static int nthreads = 8, nreqs = MAX_REQS, wait_s = 60;
static int excluded[MAX_HOSTS], nexcluded;
static int start_max_host = -1;
static atomic_bool stopping;

static atomic_long n_rounds, n_requests, n_ok, n_scsi_err, n_errno, n_opens,
	n_reopens, n_ok_new, n_unexpected;
static atomic_int n_ended;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static void note_unexpected(int t, const char *what, int err)
{
	atomic_fetch_add(&n_unexpected, 1);
	pthread_mutex_lock(&log_lock);
	printf("# thread %d: %s: %s\n", t, what, strerror(err));
	fflush(stdout);
	pthread_mutex_unlock(&log_lock);
}

/* Errnos a node or LU that went away explains. */
static bool removal_errno(int err)
{
	return err == ENODEV || err == ENXIO || err == EIO;
}

struct node {
	char path[NAME_MAX + 8];
	int host;
	ino_t ino;		/* of the class device: new for every LU */
};

/* The class devices there at the start. */
static ino_t start_ino[MAX_NODES];
static int nstart;

static bool new_since_start(ino_t ino)
{
	int i;

	for (i = 0; i < nstart; i++)
		if (start_ino[i] == ino)
			return false;
	return true;
}

static bool host_excluded(int host)
{
	int i;

	for (i = 0; i < nexcluded; i++)
		if (excluded[i] == host)
			return true;
	return false;
}

/* The driver's nodes now, with their hosts; -1 when none. */
static int scan_nodes(struct node *nodes)
{
	const char *cls = strcmp(drv, "sg") ? "scsi_rsg" : "scsi_generic";
	char dir[128], link[PATH_MAX], path[PATH_MAX];
	struct dirent *e;
	int n = 0, h, c, t, l;
	ssize_t len;
	struct stat st;
	DIR *d;

	snprintf(dir, sizeof(dir), "/sys/class/%s", cls);
	d = opendir(dir);
	if (!d)
		return 0;
	while ((e = readdir(d)) && n < MAX_NODES) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s/device", dir, e->d_name);
		len = readlink(path, link, sizeof(link) - 1);
		if (len < 0)
			continue;
		link[len] = '\0';
		if (sscanf(basename(link), "%d:%d:%d:%d", &h, &c, &t, &l) != 4)
			continue;
		if (host_excluded(h))
			continue;
		/* kernfs numbers its nodes afresh: a new LU, a new inode. */
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (stat(path, &st))
			continue;
		nodes[n].ino = st.st_ino;
		snprintf(nodes[n].path, sizeof(nodes[n].path), "/dev/%s",
			 e->d_name);
		nodes[n].host = h;
		n++;
	}
	closedir(d);
	return n;
}

struct worker {
	pthread_t tid;
	int id;
	int fd;
	int host;		/* of the open node */
	ino_t ino;		/* of its class device */
	bool fresh;		/* a node that came after the start */
	unsigned int seed;
	long round;
	uint8_t cdb[MAX_REQS][10];
	uint8_t sense[MAX_REQS][32];
	uint8_t *buf[MAX_REQS];
	struct sg_io_hdr h[MAX_REQS];
};

/* Which node this thread wants now; -1 when none is there. */
static int pick(struct worker *w, struct node *nodes, int n)
{
	int i, best = -1;

	if (n <= 0)
		return -1;
	if (w->id % 2 == 0) {
		for (i = 0; i < n; i++)
			if (best < 0 || nodes[i].host > nodes[best].host)
				best = i;
		return best;
	}
	return rand_r(&w->seed) % n;
}

static void close_fd(struct worker *w)
{
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
	w->host = -1;
	w->ino = 0;
	w->fresh = false;
}

/* Open the node the thread wants, or stay on the one it has. */
static void reopen(struct worker *w)
{
	struct node nodes[MAX_NODES];
	int n = scan_nodes(nodes), i, fd;

	if (w->fd >= 0) {
		/* Odd threads stay; even ones move to a newer host. */
		if (w->id % 2)
			return;
		i = pick(w, nodes, n);
		if (i < 0 || nodes[i].ino == w->ino)
			return;
		close_fd(w);
	} else {
		i = pick(w, nodes, n);
	}
	if (i < 0) {
		sleep_ms(20);
		return;
	}
	fd = open(nodes[i].path, O_RDWR);
	if (fd < 0) {
		if (errno != ENOENT && errno != ENODEV && errno != ENXIO)
			note_unexpected(w->id, nodes[i].path, errno);
		sleep_ms(5);
		return;
	}
	if (atomic_fetch_add(&n_opens, 1) >= nthreads)
		atomic_fetch_add(&n_reopens, 1);
	w->fd = fd;
	w->host = nodes[i].host;
	w->ino = nodes[i].ino;
	w->fresh = new_since_start(nodes[i].ino);
}

/* Request i of a round: READ(10), WRITE(10), INQUIRY, TEST UNIT READY. */
static void build(struct worker *w, int i)
{
	struct sg_io_hdr *h = &w->h[i];
	uint32_t lba = (w->id * 64 + i) * 8;

	switch ((i + w->round) % 4) {
	case 0:
		rw10(w->cdb[i], 0x28, lba, 8);
		hdr_init(h, w->cdb[i], 10, SG_DXFER_FROM_DEV, w->buf[i], XFER,
			 w->sense[i], sizeof(w->sense[i]));
		break;
	case 1:
		rw10(w->cdb[i], 0x2a, lba, 8);
		pattern(w->buf[i], XFER, w->id);
		hdr_init(h, w->cdb[i], 10, SG_DXFER_TO_DEV, w->buf[i], XFER,
			 w->sense[i], sizeof(w->sense[i]));
		break;
	case 2:
		memcpy(w->cdb[i], inq_cdb, 6);
		hdr_init(h, w->cdb[i], 6, SG_DXFER_FROM_DEV, w->buf[i], 96,
			 w->sense[i], sizeof(w->sense[i]));
		break;
	default:
		memset(w->cdb[i], 0, 6);
		hdr_init(h, w->cdb[i], 6, SG_DXFER_NONE, NULL, 0, w->sense[i],
			 sizeof(w->sense[i]));
		break;
	}
	h->timeout = CMD_TIMEOUT_MS;
	h->pack_id = i;
	h->usr_ptr = (void *)(uintptr_t)(i + 1);
}

/* A completed request's outcome. */
static void account(struct worker *w, const struct sg_io_hdr *h)
{
	atomic_fetch_add(&n_requests, 1);
	if (h->status || h->host_status || h->driver_status) {
		/* Aborted by the removal, or a new LU's unit attention. */
		atomic_fetch_add(&n_scsi_err, 1);
		return;
	}
	atomic_fetch_add(&n_ok, 1);
	if (w->fresh)
		atomic_fetch_add(&n_ok_new, 1);
}

/* A syscall failed with err: true when the fd is to be given up. */
static bool failed(struct worker *w, const char *what, int err)
{
	atomic_fetch_add(&n_errno, 1);
	if (!removal_errno(err))
		note_unexpected(w->id, what, err);
	return true;
}

static bool round_sg_io(struct worker *w)
{
	int i;

	for (i = 0; i < nreqs; i++) {
		build(w, i);
		if (ioctl(w->fd, SG_IO, &w->h[i]) < 0)
			return failed(w, "SG_IO", errno);
		account(w, &w->h[i]);
	}
	return false;
}

static bool round_write_read(struct worker *w)
{
	struct sg_io_hdr r;
	int i, sent;

	for (sent = 0; sent < nreqs; sent++) {
		build(w, sent);
		if (write(w->fd, &w->h[sent], sizeof(w->h[sent])) < 0)
			return failed(w, "write", errno);
	}
	for (i = 0; i < sent; i++) {
		memset(&r, 0, sizeof(r));
		r.interface_id = 'S';
		if (read(w->fd, &r, sizeof(r)) < 0)
			return failed(w, "read", errno);
		account(w, &r);
	}
	return false;
}

static bool round_queue(struct worker *w)
{
	struct sg_io_hdr out[MAX_REQS];
	struct rsg_batch b;
	int i, queued = 0, got = 0;

	for (i = 0; i < nreqs; i++)
		build(w, i);
	if (w->round % 2) {
		for (queued = 0; queued < nreqs; queued++)
			if (ioctl(w->fd, RSG_IOQUEUE, &w->h[queued]) < 0)
				return failed(w, "RSG_IOQUEUE", errno);
	} else {
		memset(&b, 0, sizeof(b));
		b.hdrs = (uintptr_t)w->h;
		b.count = nreqs;
		if (ioctl(w->fd, RSG_IOQUEUE_BATCH, &b) < 0)
			return failed(w, "RSG_IOQUEUE_BATCH", errno);
		queued = b.done;
	}
	while (got < queued) {
		memset(&b, 0, sizeof(b));
		b.hdrs = (uintptr_t)out;
		b.count = queued - got;
		b.flags = RSG_BATCH_WAIT;
		b.timeout_ms = GET_WAIT_MS;
		if (ioctl(w->fd, RSG_IOGET_BATCH, &b) < 0) {
			/* EAGAIN after the wait: a request never came back. */
			return failed(w, "RSG_IOGET_BATCH", errno);
		}
		for (i = 0; i < (int)b.done; i++)
			account(w, &out[i]);
		got += b.done;
	}
	return false;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	int nmodes = strcmp(drv, "sg") ? M_NR : M_QUEUE;
	bool give_up;

	while (!atomic_load(&stopping)) {
		reopen(w);
		if (w->fd < 0)
			continue;
		switch (w->round % nmodes) {
		case M_SG_IO:
			give_up = round_sg_io(w);
			break;
		case M_WRITE_READ:
			give_up = round_write_read(w);
			break;
		default:
			give_up = round_queue(w);
			break;
		}
		w->round++;
		atomic_fetch_add(&n_rounds, 1);
		if (give_up)
			close_fd(w);
	}
	close_fd(w);
	atomic_fetch_add(&n_ended, 1);
	return NULL;
}

int main(int argc, char **argv)
{
	static struct worker w[MAX_THREADS];
	struct node nodes[MAX_NODES];
	struct timespec deadline;
	sigset_t set;
	int opt, i, n, sig, joined = 0;

	while ((opt = getopt(argc, argv, "d:t:n:x:w:")) != -1) {
		switch (opt) {
		case 'd':
			drv = optarg;
			break;
		case 't':
			nthreads = atoi(optarg);
			break;
		case 'n':
			nreqs = atoi(optarg);
			break;
		case 'x':
			if (nexcluded < MAX_HOSTS)
				excluded[nexcluded++] = atoi(optarg);
			break;
		case 'w':
			wait_s = atoi(optarg);
			break;
		default:
			fprintf(stderr, "usage: %s -d rsg|sg [-t THREADS] [-n REQS] [-x HOST]... [-w SECONDS]\n",
				argv[0]);
			return 2;
		}
	}
	if (nthreads < 1 || nthreads > MAX_THREADS || nreqs < 1 ||
	    nreqs > MAX_REQS || (strcmp(drv, "sg") && strcmp(drv, "rsg"))) {
		fprintf(stderr, "%s: bad arguments\n", argv[0]);
		return 2;
	}
	n = scan_nodes(nodes);
	for (i = 0; i < n; i++) {
		if (nodes[i].host > start_max_host)
			start_max_host = nodes[i].host;
		start_ino[nstart++] = nodes[i].ino;
	}
	if (n <= 0) {
		printf("# no %s nodes\n", drv);
		return 1;
	}

	/* Only this thread takes the stop signals. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	for (i = 0; i < nthreads; i++) {
		w[i].id = i;
		w[i].fd = -1;
		w[i].host = -1;
		w[i].seed = 1000 + i;
		for (n = 0; n < nreqs; n++) {
			w[i].buf[n] = malloc(XFER);
			if (!w[i].buf[n])
				return 1;
		}
		if (pthread_create(&w[i].tid, NULL, worker_main, &w[i])) {
			perror("pthread_create");
			return 1;
		}
	}
	printf("# %d threads on %s nodes of hosts up to %d\n", nthreads, drv,
	       start_max_host);
	fflush(stdout);
	sigwait(&set, &sig);
	atomic_store(&stopping, true);

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += wait_s;
	for (i = 0; i < nthreads; i++) {
		if (pthread_timedjoin_np(w[i].tid, NULL, &deadline))
			printf("# thread %d did not end within %d s\n", i,
			       wait_s);
		else
			joined++;
	}
	printf("stress %s threads=%d ended=%d rounds=%ld requests=%ld ok=%ld scsi_err=%ld errno=%ld opens=%ld reopens=%ld ok_new_hosts=%ld unexpected=%ld\n",
	       drv, nthreads, joined, atomic_load(&n_rounds),
	       atomic_load(&n_requests), atomic_load(&n_ok),
	       atomic_load(&n_scsi_err), atomic_load(&n_errno),
	       atomic_load(&n_opens), atomic_load(&n_reopens),
	       atomic_load(&n_ok_new), atomic_load(&n_unexpected));
	fflush(stdout);
	/* A thread stuck in the kernel would keep exit_group() waiting. */
	if (joined != nthreads)
		_exit(1);
	return atomic_load(&n_unexpected) ? 1 : 0;
}
