// SPDX-License-Identifier: GPL-2.0
/*
 * Signals from another process while a child waits in the driver: in a
 * blocking SG_IO, in a blocking read() for an asynchronous reply, (rsg
 * only) in RSG_IOGET_BATCH with RSG_BATCH_WAIT, and in an open(O_EXCL)
 * waiting for another file to close. Delivered are SIGKILL,
 * SIGINT with its default action, SIGINT caught without and with
 * SA_RESTART, and SIGSTOP followed by SIGCONT (a restart with no handler).
 *
 * What the child sees (the call's errno, whether it restarted and then
 * succeeded, what is left to read afterwards, the request table) must be
 * what sg gives; a killed child must go away, and afterwards nothing may be
 * left: no open file in /proc/scsi/<driver>/debug, the LU idle, and the
 * module's reference count as before, so that it can be unloaded.
 *
 * scsi_debug delays TEST UNIT READY by SLOW_MS, so the command is still
 * running when the signal comes: the parent sends it once
 * /proc/<child>/syscall shows the child asleep in the expected syscall.
 */

#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "rsg_test.h"
#include "scsi/rsg.h"

/* How long TEST UNIT READY takes (scsi_debug's ndelay). */
#define SLOW_MS		800
/* Bounds for what must happen; generous for emulation. */
#define SLACK_MS	10000
#define PACK_ID		0x51

enum op { OP_SG_IO, OP_READ, OP_GET, OP_OPEN };
enum how { H_KILL, H_INT_DFL, H_INT, H_INT_RESTART, H_STOP_CONT };

static const char *const op_name[] = { "SG_IO", "read", "RSG_IOGET_BATCH",
				       "open(O_EXCL)" };

/* What the child saw, in memory shared with the parent. */
struct seen {
	int opened;
	int err;		/* errno of the waiting call, 0 if it succeeded */
	int status;		/* SCSI status / host / driver of the reply */
	int host_status, driver_status;
	int pack_id;
	int handled;		/* signals caught */
	int again_err;		/* after EINTR: a second wait for the reply */
	int again_status, again_pack_id;
	int left;		/* then: replies still there (SG_GET_NUM_WAITING) */
	int table_used;		/* and entries in the request table */
	int nonblock_err;	/* and what a non-blocking read finds */
};

static volatile sig_atomic_t handled;

static void on_sig(int sig)
{
	handled++;
}

/* scsi_debug refuses a new delay while commands are queued. */
static int sdebug_set(const char *attr, const char *val)
{
	return sdebug_set_within(attr, val, SLACK_MS);
}

static void tur_hdr(struct sg_io_hdr *h, uint8_t *sense)
{
	hdr_init(h, tur_cdb, 6, SG_DXFER_NONE, NULL, 0, sense, 32);
	h->pack_id = PACK_ID;
	h->timeout = SLACK_MS * 2;
}

static void take_reply(int *status, int *pack_id, const struct sg_io_hdr *h)
{
	*status = h->status | h->host_status << 8 | h->driver_status << 16;
	*pack_id = h->pack_id;
}

/* Wait for the reply of an async TEST UNIT READY: 0 or an errno. */
static int wait_reply(int fd, enum op op, struct sg_io_hdr *h)
{
	struct rsg_batch b = {
		.hdrs = (uintptr_t)h, .count = 1, .flags = RSG_BATCH_WAIT,
	};

	memset(h, 0, sizeof(*h));
	h->interface_id = 'S';
	if (op == OP_READ)
		return read(fd, h, sizeof(*h)) < 0 ? errno : 0;
	if (ioctl(fd, RSG_IOGET_BATCH, &b) < 0)
		return errno;
	return b.done == 1 ? 0 : -1;
}

static int request_table_used(int fd)
{
	sg_req_info_t t[SG_MAX_QUEUE];
	int i, n = 0;

	memset(t, 0, sizeof(t));
	if (ioctl(fd, SG_GET_REQUEST_TABLE, t) < 0)
		return -errno;
	for (i = 0; i < SG_MAX_QUEUE; i++)
		n += !!t[i].req_state;
	return n;
}

/* The child: wait in the driver, tell what happened. */
static void child(const char *path, enum op op, enum how how, struct seen *s,
		  int ready, int holder)
{
	struct sigaction sa = { .sa_handler = on_sig };
	struct sg_io_hdr h, r;
	uint8_t sense[32];
	long end;
	int fd, v;

	/* The parent's file alone must hold the node. */
	if (holder >= 0)
		close(holder);
	if (how == H_INT || how == H_INT_RESTART) {
		sa.sa_flags = how == H_INT_RESTART ? SA_RESTART : 0;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, NULL);
	}
	if (op == OP_OPEN) {
		/* Waits until the parent's file closes. */
		if (write(ready, "r", 1) != 1)
			_exit(4);
		fd = open(path, O_RDWR | O_EXCL);
		s->err = fd < 0 ? errno : 0;
		s->handled = handled;
		if (fd >= 0)
			close(fd);
		_exit(0);
	}
	fd = open(path, O_RDWR);
	s->opened = fd >= 0 ? 0 : errno;
	if (fd < 0)
		_exit(1);
	tur_hdr(&h, sense);
	if (op == OP_READ && write(fd, &h, sizeof(h)) != sizeof(h))
		_exit(2);
	if (op == OP_GET && ioctl(fd, RSG_IOQUEUE, &h) < 0)
		_exit(3);
	if (write(ready, "r", 1) != 1)
		_exit(4);

	if (op == OP_SG_IO) {
		s->err = ioctl(fd, SG_IO, &h) < 0 ? errno : 0;
		r = h;
	} else {
		s->err = wait_reply(fd, op, &r);
	}
	if (!s->err)
		take_reply(&s->status, &s->pack_id, &r);
	s->handled = handled;

	if (s->err == EINTR && op != OP_SG_IO) {
		/* The request is still the file's: wait again for it. */
		s->again_err = wait_reply(fd, op, &r);
		if (!s->again_err)
			take_reply(&s->again_status, &s->again_pack_id, &r);
	}
	/*
	 * Then nothing more may come: an interrupted SG_IO's command runs on
	 * as an orphan that is dropped when it completes.
	 */
	end = now_ms() + SLACK_MS;
	do {
		s->table_used = request_table_used(fd);
		if (s->table_used <= 0)
			break;
		sleep_ms(20);
	} while (now_ms() < end);
	v = 0;
	s->left = ioctl(fd, SG_GET_NUM_WAITING, &v) < 0 ? -errno : v;
	if (op != OP_GET) {
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
		memset(&r, 0, sizeof(r));
		r.interface_id = 'S';
		s->nonblock_err = read(fd, &r, sizeof(r)) < 0 ? errno : 0;
	}
	close(fd);
	_exit(0);
}

/* /proc/pid/syscall: the syscall the task is in, or -1. */
static long in_syscall(pid_t pid)
{
	char path[64], buf[256];
	long nr = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/syscall", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fgets(buf, sizeof(buf), f) && buf[0] >= '0' && buf[0] <= '9')
		nr = strtol(buf, NULL, 10);
	fclose(f);
	return nr;
}

/* The task's state letter from /proc/pid/stat. */
static char task_state(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return '?';
	p = fgets(buf, sizeof(buf), f);
	fclose(f);
	if (!p)
		return '?';
	p = strrchr(buf, ')');
	return p && p[1] ? p[2] : '?';
}

static bool asleep_in(pid_t pid, long nr)
{
	long end = now_ms() + SLACK_MS;

	do {
		if (in_syscall(pid) == nr && task_state(pid) == 'S')
			return true;
		sleep_ms(2);
	} while (now_ms() < end);
	return false;
}

static bool stopped(pid_t pid)
{
	long end = now_ms() + SLACK_MS;

	do {
		if (task_state(pid) == 'T')
			return true;
		sleep_ms(2);
	} while (now_ms() < end);
	return false;
}

/* waitpid, bounded: the status, or -1 if the child did not go. */
static int reap_within(pid_t pid, long ms)
{
	long end = now_ms() + ms;
	int status;

	do {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return status;
		sleep_ms(10);
	} while (now_ms() < end);
	return -1;
}

static int reap(pid_t pid)
{
	return reap_within(pid, 3 * SLACK_MS);
}

/* Whether /proc/scsi/<drv>/debug lists an open file of the node. */
static int files_open(const char *drv, const char *path)
{
	char file[64], want[64], line[256];
	bool in = false;
	int n = 0;
	FILE *f;

	snprintf(file, sizeof(file), "/proc/scsi/%s/debug", drv);
	snprintf(want, sizeof(want), " >>> device=%s ", strrchr(path, '/') + 1);
	f = fopen(file, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (strstr(line, ">>>"))
			in = !strncmp(line, want, strlen(want));
		else if (in && strstr(line, "FD("))
			n++;
	}
	fclose(f);
	return n;
}

static long long lu_busy(const char *path)
{
	struct stat st;
	char sys[128];

	if (stat(path, &st))
		return -1;
	snprintf(sys, sizeof(sys), "/sys/dev/char/%u:%u/device/device_busy",
		 major(st.st_rdev), minor(st.st_rdev));
	return read_num("%s", sys);
}

static long long refcnt(const char *drv)
{
	return read_num("/sys/module/%s/refcnt", drv);
}

/* Nothing of the child left: no file, the LU idle, references as before. */
static bool all_gone(const char *drv, const char *path, long long ref)
{
	long end = now_ms() + SLACK_MS;

	do {
		if (files_open(drv, path) == 0 && lu_busy(path) == 0 &&
		    refcnt(drv) == ref)
			return true;
		sleep_ms(20);
	} while (now_ms() < end);
	return false;
}

FIXTURE(sig)
{
	const char *path[NDRV];
	char ndelay[32], delay[32];
	struct seen *seen;
};

FIXTURE_VARIANT(sig)
{
	enum op op;
	enum how how;
};

#define SIG_VARIANT(o, h, name)					\
	FIXTURE_VARIANT_ADD(sig, name) { .op = o, .how = h }

SIG_VARIANT(OP_SG_IO, H_KILL, sg_io_kill);
SIG_VARIANT(OP_SG_IO, H_INT_DFL, sg_io_int_default);
SIG_VARIANT(OP_SG_IO, H_INT, sg_io_int_handler);
SIG_VARIANT(OP_SG_IO, H_INT_RESTART, sg_io_int_restart);
SIG_VARIANT(OP_SG_IO, H_STOP_CONT, sg_io_stop_cont);
SIG_VARIANT(OP_READ, H_KILL, read_kill);
SIG_VARIANT(OP_READ, H_INT_DFL, read_int_default);
SIG_VARIANT(OP_READ, H_INT, read_int_handler);
SIG_VARIANT(OP_READ, H_INT_RESTART, read_int_restart);
SIG_VARIANT(OP_READ, H_STOP_CONT, read_stop_cont);
SIG_VARIANT(OP_GET, H_KILL, get_kill);
SIG_VARIANT(OP_GET, H_INT_DFL, get_int_default);
SIG_VARIANT(OP_GET, H_INT, get_int_handler);
SIG_VARIANT(OP_GET, H_INT_RESTART, get_int_restart);
SIG_VARIANT(OP_GET, H_STOP_CONT, get_stop_cont);
SIG_VARIANT(OP_OPEN, H_KILL, open_kill);
SIG_VARIANT(OP_OPEN, H_INT_DFL, open_int_default);
SIG_VARIANT(OP_OPEN, H_INT, open_int_handler);
SIG_VARIANT(OP_OPEN, H_INT_RESTART, open_int_restart);
SIG_VARIANT(OP_OPEN, H_STOP_CONT, open_stop_cont);

FIXTURE_SETUP(sig)
{
	char ns[32];
	int d;

	for (d = 0; d < NDRV; d++)
		self->path[d] = dev_path(d);
	if (variant->op == OP_GET && !strcmp(self->path[RSG], self->path[SG]))
		SKIP(return, "the queue interface is rsg's");
	self->seen = mmap(NULL, NDRV * sizeof(struct seen),
			  PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
			  -1, 0);
	ASSERT_NE(MAP_FAILED, self->seen);
	ASSERT_EQ(0, clear_ua(self->path[SG]));
	ASSERT_EQ(0, read_str(self->delay, sizeof(self->delay),
			      SDEBUG_DRV "delay"));
	ASSERT_EQ(0, read_str(self->ndelay, sizeof(self->ndelay),
			      SDEBUG_DRV "ndelay"));
	snprintf(ns, sizeof(ns), "%d", SLOW_MS * 1000000);
	ASSERT_EQ(0, sdebug_set("ndelay", ns));
}

FIXTURE_TEARDOWN(sig)
{
	if (self->seen == NULL || self->seen == MAP_FAILED)
		return;
	if (atoi(self->ndelay) > 0) {
		EXPECT_EQ(0, sdebug_set("ndelay", self->ndelay));
	} else {
		EXPECT_EQ(0, sdebug_set("delay", self->delay));
	}
	munmap(self->seen, NDRV * sizeof(struct seen));
}

/* One child on driver d: returns its wait status, or -1. */
static int run_child(struct __test_metadata *_metadata,
		     FIXTURE_DATA(sig) *self,
		     const FIXTURE_VARIANT(sig) *variant, int d)
{
	const char *drv = d == RSG ? "rsg" : "sg";
	long nr = variant->op == OP_READ ? SYS_read :
		  variant->op == OP_OPEN ? SYS_openat : SYS_ioctl;
	long long ref = refcnt(drv);
	int p[2], status, holder = -1;
	pid_t pid;
	char c;

	memset(&self->seen[d], 0xee, sizeof(self->seen[d]));
	if (variant->op == OP_OPEN) {
		holder = open(self->path[d], O_RDWR);
		if (holder < 0)
			return -1;
	}
	if (pipe(p))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		close(p[0]);
		child(self->path[d], variant->op, variant->how, &self->seen[d],
		      p[1], holder);
	}
	close(p[1]);
	if (read(p[0], &c, 1) != 1) {
		close(p[0]);
		status = reap(pid);
		TH_LOG("%s: the child failed before waiting (status %#x)",
		       drv, status);
		return -1;
	}
	close(p[0]);
	if (!asleep_in(pid, nr)) {
		kill(pid, SIGKILL);
		reap(pid);
		TH_LOG("%s: the child never slept in %s", drv,
		       op_name[variant->op]);
		return -1;
	}
	switch (variant->how) {
	case H_KILL:
		kill(pid, SIGKILL);
		break;
	case H_STOP_CONT:
		kill(pid, SIGSTOP);
		if (!stopped(pid))
			TH_LOG("%s: the child did not stop", drv);
		kill(pid, SIGCONT);
		break;
	default:
		kill(pid, SIGINT);
		break;
	}
	/*
	 * A waiter that restarted gets in once the holder is gone; one that
	 * did not must have given up before, or it could get in instead.
	 */
	if (holder >= 0 && variant->how != H_INT) {
		close(holder);
		holder = -1;
	}
	status = reap(pid);
	if (holder >= 0)
		close(holder);
	if (status == -1) {
		char stack[4096] = "", path[64];
		FILE *f;
		size_t n;

		snprintf(path, sizeof(path), "/proc/%d/stack", pid);
		f = fopen(path, "r");
		if (f) {
			n = fread(stack, 1, sizeof(stack) - 1, f);
			stack[n] = '\0';
			fclose(f);
		}
		TH_LOG("%s: the child did not end after the signal; state %c, stack:\n%s",
		       drv, task_state(pid), stack);
		kill(pid, SIGKILL);
		reap(pid);
		return -1;
	}
	/* Whatever it left runs to completion and is freed. */
	if (!all_gone(drv, self->path[d], ref)) {
		TH_LOG("%s: left behind: files %d, LU busy %lld, refcnt %lld (was %lld)",
		       drv, files_open(drv, self->path[d]),
		       lu_busy(self->path[d]), refcnt(drv), ref);
		return -1;
	}
	return status;
}

TEST_F_TIMEOUT(sig, delivered, 120)
{
	int status[NDRV], d, first = variant->op == OP_GET ? RSG : 0;
	int last = variant->op == OP_GET ? RSG : NDRV - 1;
	struct seen *s;

	for (d = first; d <= last; d++) {
		status[d] = run_child(_metadata, self, variant, d);
		ASSERT_NE(-1, status[d]) {
			TH_LOG("%s", drv_name[d]);
		}
	}
	if (variant->op != OP_GET) {
		ASSERT_EQ(status[SG], status[RSG]) {
			TH_LOG("wait status: sg %#x, rsg %#x", status[SG],
			       status[RSG]);
		}
	}
	switch (variant->how) {
	case H_KILL:
		ASSERT_TRUE(WIFSIGNALED(status[RSG]) &&
			    WTERMSIG(status[RSG]) == SIGKILL);
		return;
	case H_INT_DFL:
		ASSERT_TRUE(WIFSIGNALED(status[RSG]) &&
			    WTERMSIG(status[RSG]) == SIGINT);
		return;
	default:
		break;
	}
	ASSERT_TRUE(WIFEXITED(status[RSG]) && !WEXITSTATUS(status[RSG])) {
		TH_LOG("rsg child: status %#x", status[RSG]);
	}
	s = self->seen;
	if (variant->op == OP_OPEN) {
		for (d = 0; d < NDRV; d++) {
			ASSERT_EQ(variant->how == H_INT ? EINTR : 0, s[d].err) {
				TH_LOG("%s: open: %s", drv_name[d],
				       strerror(s[d].err));
			}
			ASSERT_EQ(variant->how == H_STOP_CONT ? 0 : 1,
				  s[d].handled);
		}
		return;
	}
	if (variant->op != OP_GET) {
		/* Everything the child saw, as through sg. */
		ASSERT_EQ(0, memcmp(&s[SG], &s[RSG], sizeof(s[SG]))) {
			for (d = 0; d < NDRV; d++)
				TH_LOG("%s: err %d status %#x pack_id %#x handled %d again %d %#x %#x left %d table %d nonblock %d",
				       drv_name[d], s[d].err, s[d].status,
				       s[d].pack_id, s[d].handled,
				       s[d].again_err, s[d].again_status,
				       s[d].again_pack_id, s[d].left,
				       s[d].table_used, s[d].nonblock_err);
		}
	}
	s = &self->seen[RSG];
	ASSERT_EQ(0, s->opened);
	ASSERT_EQ(variant->how == H_STOP_CONT ? 0 : 1, s->handled);
	if (variant->how == H_INT) {
		/* No SA_RESTART: the wait ends with EINTR. */
		ASSERT_EQ(EINTR, s->err);
		if (variant->op != OP_SG_IO) {
			/* The request stayed the file's; the reply comes. */
			ASSERT_EQ(0, s->again_err);
			ASSERT_EQ(0, s->again_status);
			ASSERT_EQ(PACK_ID, s->again_pack_id);
		}
	} else {
		/* Restarted (ERESTARTSYS), and then the reply came. */
		ASSERT_EQ(0, s->err);
		ASSERT_EQ(0, s->status);
		ASSERT_EQ(PACK_ID, s->pack_id);
	}
	/* Nothing more to read, nothing in the request table. */
	ASSERT_EQ(0, s->table_used);
	ASSERT_EQ(0, s->left);
	if (variant->op != OP_GET) {
		ASSERT_EQ(EAGAIN, s->nonblock_err);
	}
}

/* An open(O_EXCL) waiter: its open's result, through shared memory. */
static pid_t excl_waiter(const char *path, int holder, volatile int *res)
{
	struct sigaction sa = { .sa_handler = on_sig };
	pid_t pid = fork();
	int fd;

	if (pid)
		return pid;
	close(holder);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	fd = open(path, O_RDWR | O_EXCL);
	*res = fd < 0 ? errno : 0;
	if (fd >= 0) {
		sleep_ms(50);
		close(fd);
	}
	_exit(0);
}

/*
 * Two open(O_EXCL) waiters, A then B, and the holder goes: A is woken and
 * signalled before it runs (this process runs SCHED_FIFO on the one CPU
 * they all share, so A runs only after both happened). A may take the
 * device (sg rechecks its condition before the signal) or give up with
 * EINTR, but the wake-up must not end with A: B gets the device then, or
 * after A closed it. Neither may be left waiting on a free device.
 */
TEST(excl_waiters_woken)
{
	struct sched_param fifo = { .sched_priority = 1 }, other = { 0 };
	volatile int *res;
	int d, holder, status;
	cpu_set_t cpu0;
	pid_t a, b;

	res = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, res);
	CPU_ZERO(&cpu0);
	CPU_SET(0, &cpu0);
	ASSERT_EQ(0, sched_setaffinity(0, sizeof(cpu0), &cpu0));
	for (d = 0; d < NDRV; d++) {
		res[0] = res[1] = -1;
		holder = open(dev_path(d), O_RDWR);
		ASSERT_LE(0, holder);
		a = excl_waiter(dev_path(d), holder, &res[0]);
		ASSERT_LT(0, a);
		ASSERT_TRUE(asleep_in(a, SYS_openat));
		b = excl_waiter(dev_path(d), holder, &res[1]);
		ASSERT_LT(0, b);
		ASSERT_TRUE(asleep_in(b, SYS_openat));

		ASSERT_EQ(0, sched_setscheduler(0, SCHED_FIFO, &fifo));
		close(holder);
		kill(a, SIGINT);
		ASSERT_EQ(0, sched_setscheduler(0, SCHED_OTHER, &other));

		/* Within the harness's 30 s for the whole test. */
		status = reap_within(a, SLACK_MS);
		ASSERT_EQ(0, status) {
			TH_LOG("%s: waiter A did not end", drv_name[d]);
			kill(a, SIGKILL);
			reap(a);
		}
		ASSERT_TRUE(res[0] == 0 || res[0] == EINTR) {
			TH_LOG("%s: A: %s", drv_name[d], strerror(res[0]));
		}
		status = reap_within(b, SLACK_MS);
		ASSERT_EQ(0, status) {
			TH_LOG("%s: waiter B left waiting on a free device (A: %s)",
			       drv_name[d], strerror(res[0]));
			kill(b, SIGKILL);
			reap(b);
		}
		ASSERT_EQ(0, res[1]) {
			TH_LOG("%s: B: %s", drv_name[d], strerror(res[1]));
		}
	}
	munmap((void *)res, 4096);
}

TEST_HARNESS_MAIN
