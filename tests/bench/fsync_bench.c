/*++
/* NAME
/*	fsync_bench 1
/* SUMMARY
/*	raw fdatasync rate of a directory's disk
/* SYNOPSIS
/*	fsync_bench [-t THREADS] [-d SECONDS] [-b BYTES] DIR
/* DESCRIPTION
/*	Each of THREADS threads (default 1) appends BYTES (default 512) to
/*	its own file in DIR (preallocated, as a transaction log is) and
/*	calls fdatasync, in a loop, for SECONDS (default 3). Prints the
/*	number of fdatasync calls per second, all threads together, as
/*	"fdatasync_per_second N". The files are removed.
/* DIAGNOSTICS
/*	Exit status 1 on an I/O error.
/* LICENSE
/*	MIT, see LICENSE.
/*--*/

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *dir;
static int nbytes = 512;
static double seconds = 3;
static long counts[256];

/* now - monotonic seconds */

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (ts.tv_sec + ts.tv_nsec / 1e9);
}

/* worker - append and fdatasync until the time is up */

static void *worker(void *arg)
{
    long    id = (long) arg;
    char    path[4096], buf[65536];
    int     fd;
    off_t   off = 0;
    double  end = now() + seconds;

    memset(buf, 'x', sizeof(buf));
    snprintf(path, sizeof(path), "%s/fsync_bench.%ld.%ld", dir, (long) getpid(), id);
    if ((fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600)) < 0) {
	perror(path);
	exit(1);
    }
    unlink(path);
    if (posix_fallocate(fd, 0, 64 << 20) != 0 || fdatasync(fd) < 0) {
	perror("fallocate");
	exit(1);
    }
    while (now() < end) {
	if (pwrite(fd, buf, (size_t) nbytes, off) != nbytes || fdatasync(fd) < 0) {
	    perror("pwrite/fdatasync");
	    exit(1);
	}
	off = (off + nbytes) % (64 << 20);
	counts[id]++;
    }
    close(fd);
    return (0);
}

int     main(int argc, char **argv)
{
    int     ch, threads = 1;
    pthread_t tids[256];
    long    total = 0;
    double  t0;

    while ((ch = getopt(argc, argv, "t:d:b:")) != -1) {
	switch (ch) {
	case 't':
	    threads = atoi(optarg);
	    break;
	case 'd':
	    seconds = atof(optarg);
	    break;
	case 'b':
	    nbytes = atoi(optarg);
	    break;
	default:
	    goto usage;
	}
    }
    if (optind != argc - 1 || threads < 1 || threads > 256
	|| nbytes < 1 || nbytes > 65536)
	goto usage;
    dir = argv[optind];
    t0 = now();
    for (long i = 0; i < threads; i++)
	pthread_create(&tids[i], 0, worker, (void *) i);
    for (int i = 0; i < threads; i++)
	pthread_join(tids[i], 0);
    for (int i = 0; i < threads; i++)
	total += counts[i];
    printf("fdatasync_per_second %.0f\n", total / (now() - t0));
    return (0);
usage:
    fprintf(stderr, "usage: fsync_bench [-t THREADS] [-d SECONDS] [-b BYTES] DIR\n");
    return (64);
}
