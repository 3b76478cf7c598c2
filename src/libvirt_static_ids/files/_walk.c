/*
 * SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
 * SPDX-License-Identifier: AGPL-3.0-only
 *
 * The file tree walk of `repair`, in C because it touches every entry of trees with millions
 * of them: per entry one fstatat() relative to its directory and, unless it is a symlink, one
 * listxattrat() (on kernels before 6.13, or where it is refused: llistxattr() of
 * /proc/self/fd/DIR/NAME, or of NAME alone in a thread whose own working directory is DIR;
 * never of a path that could be resolved anew). Only entries that may need a change reach
 * Python: owner or group among the given numbers, or an ACL or libvirt label xattr; each
 * comes with whether it carries a file capability, so Python reads xattrs only when needed.
 * Directories are read in chunks; a helper thread takes shares of each chunk, as much as it
 * gets to (work is claimed a few items at a time, so a helper slowed by a busy CPU does less).
 * On the fallback the two halves of the work are split instead: the caller stats (relative
 * to the directory's descriptor), the helper lists xattrs by name in its own working
 * directory, and whoever is done first takes on the other's remaining items.
 *
 * Never follows a symlink, enters a directory only when the opened one is the inode it
 * examined, stays on the top's file system unless told otherwise, and keeps one open
 * directory per level of depth, so memory does not grow with the size of the tree.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#ifndef __NR_listxattrat
#define __NR_listxattrat 465 /* the same on every architecture's unified syscall table */
#endif

#define MAX_IDS 64
#define CHUNK 256         /* directory entries read and examined at a time */
#define PARALLEL_MIN 32   /* fewer than this are examined by one thread alone */
#define HANDOFF_MIN 8     /* fewer than this the caller examines itself, even on the fallback */
#define CLAIM 8           /* items a thread claims at a time */
#define REPLACED (-1)     /* an error tuple's code: a directory changed between stat and open */

/* What an entry's xattr names say (Item.xattr, the third field of an entry tuple). */
#define XATTR_RELEVANT 1   /* an ACL or a libvirt label: Python reads and maybe remaps it */
#define XATTR_CAPABILITY 2 /* security.capability, which a chown drops: journaled, set again */

/* How an entry's xattrs are listed: by listxattrat, or on older kernels by llistxattr of
 * /proc/self/fd/DIR/NAME or, in the helper thread whose working directory is the entry's
 * directory (its own, unshared: CLONE_FS), of the bare NAME. */
enum { BY_LISTXATTRAT, BY_PROC_FD, BY_CWD };

/* One directory entry of the current chunk, examined by one of the two threads (on the
 * fallback: stat fields by one, xattr fields by the other). */
typedef struct {
    size_t name;          /* offset into the level's names */
    struct stat st;
    int error;            /* errno of fstatat, or 0 */
    int xattr;            /* XATTR_* flags */
    int xattr_error;      /* errno of listing its xattrs (other than "none"), or 0 */
} Item;

typedef struct {
    DIR *dir;
    int fd;
    unsigned long long serial; /* which directory this is: fd numbers are reused */
    size_t path_length;   /* length of this directory's path in the walk's buffer */
    Item items[CHUNK];
    size_t count, next;
    char *names;
    size_t names_used, names_capacity;
    int end, error;       /* readdir reached the end, or failed with error */
} Level;

typedef struct Walk Walk;

#define MAX_HELPERS 1

/* A thread that claims and examines items of each chunk alongside the caller (on the
 * fallback it lists their xattrs first: see examine_split). */
typedef struct {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake, done;
    int busy, quit, ready;
    int own_cwd;          /* the thread's working directory is its own (unshare CLONE_FS) */
    unsigned long long cwd_serial; /* the level the helper's working directory is, or 0 */
    Walk *walk;
} Helper;

struct Walk {
    PyObject_HEAD
    char *path;           /* the current path, grown as needed */
    size_t capacity;
    Level **levels;
    size_t depth, max_depth;
    dev_t device;
    int cross_filesystems;
    int all_entries;      /* yield every entry, not only candidates */
    int top_pending;      /* the top itself is yielded first */
    struct stat top_stat;
    unsigned long long uids[MAX_IDS], gids[MAX_IDS];
    size_t n_uids, n_gids;
    unsigned long long scanned;
    unsigned long long serials; /* the last Level.serial given */
    int have_listxattrat;
    int top_fd;           /* the directory holding the top (the caller's; not closed here) */
    size_t top_name;      /* where the top's name starts in path */
    PyObject *pending_error; /* (path, None, errno) to yield after the entry it belongs to */
    Level *chunk;         /* the level whose chunk is being examined */
    size_t claimed;       /* the next unclaimed item of that chunk (atomic) */
    size_t xattrs_claimed; /* split: the next item whose xattrs nobody lists yet (atomic) */
    int split;            /* the fallback's division of labour (see examine_split) */
    int n_helpers, helpers_made; /* started and running; initialised */
    Helper helpers[MAX_HELPERS];
};

static int has_id(const unsigned long long *ids, size_t count, unsigned long long id)
{
    for (size_t i = 0; i < count; i++)
        if (ids[i] == id)
            return 1;
    return 0;
}

static int name_flags(const char *name)
{
    if (strncmp(name, "system.posix_acl_", 17) == 0 ||
        strcmp(name, "trusted.libvirt.security.dac") == 0 ||
        strcmp(name, "trusted.libvirt.security.ref_dac") == 0)
        return XATTR_RELEVANT;
    return strcmp(name, "security.capability") == 0 ? XATTR_CAPABILITY : 0;
}

/* listxattr of the entry `name` of `dir_fd` the way `how` says (size 0: only the size). */
static ssize_t list_names(int how, int dir_fd, const char *name, char *names, size_t size)
{
    if (how == BY_LISTXATTRAT)
        return syscall(__NR_listxattrat, dir_fd, name, AT_SYMLINK_NOFOLLOW, names, size);
    if (how == BY_CWD)
        return llistxattr(name, names, size); /* a name in the working directory */
    /* The directory by its descriptor: a name, not a path, is resolved (at any depth). */
    char path[sizeof "/proc/self/fd//" + 3 * sizeof(int) + NAME_MAX];
    if (snprintf(path, sizeof path, "/proc/self/fd/%d/%s", dir_fd, name) >= (int)sizeof path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return llistxattr(path, names, size);
}

/* Whether this thread asks for the size first: a little cheaper for the many entries that
 * carry no xattr (the kernel then allocates no 4 KiB buffer: ~2% of the walk's CPU time), one
 * call more for those that do; so it is done while the entries met lately carried none. */
static __thread int size_first = 1;

/* The XATTR_* flags of the entry (both when there are too many names to list: let Python
 * look), 0 when none; -1 with errno when they cannot be listed. */
static int xattr_flags(int how, int dir_fd, const char *name)
{
    char names[4096];
    ssize_t size = 1;
    if (size_first) {
        size = list_names(how, dir_fd, name, NULL, 0);
        size_first = size <= 0;
    }
    if (size > 0) {
        size = list_names(how, dir_fd, name, names, sizeof names);
        size_first = size == 0;
    }
    if (size < 0) {
        if (errno == ERANGE)
            return XATTR_RELEVANT | XATTR_CAPABILITY;
        if (errno == ENOTSUP || errno == ENODATA)
            return 0;
        return -1;
    }
    int flags = 0;
    for (ssize_t at = 0; at < size; at += (ssize_t)strlen(names + at) + 1)
        flags |= name_flags(names + at);
    return flags;
}

/* The way the calling thread lists xattrs, if it is not the helper. */
static int main_way(Walk *self)
{
    return self->have_listxattrat ? BY_LISTXATTRAT : BY_PROC_FD;
}

static void examine_stat(Level *level, Item *item)
{
    const char *name = level->names + item->name;
    item->error = fstatat(level->fd, name, &item->st, AT_SYMLINK_NOFOLLOW) < 0 ? errno : 0;
}

static void examine_xattrs(Level *level, Item *item, int how)
{
    int found = xattr_flags(how, level->fd, level->names + item->name);
    item->xattr = found < 0 ? 0 : found;
    item->xattr_error = found < 0 ? errno : 0;
}

/* What a symlink's xattrs, or those of an entry that cannot be stat'ed, count for: nothing. */
static void drop_unwanted_xattrs(Item *item)
{
    if (item->error || S_ISLNK(item->st.st_mode))
        item->xattr = item->xattr_error = 0;
}

/* fstatat and the xattr check of one item; no Python, no GIL. */
static void examine_item(Level *level, Item *item, int how)
{
    item->xattr = item->xattr_error = 0;
    examine_stat(level, item);
    if (item->error || S_ISLNK(item->st.st_mode))
        return;
    examine_xattrs(level, item, how);
}

/* Claim and examine items of the chunk until none is left. */
static void examine_claimed(Walk *self, Level *level, int how)
{
    for (;;) {
        size_t begin = __atomic_fetch_add(&self->claimed, CLAIM, __ATOMIC_RELAXED);
        if (begin >= level->count)
            return;
        size_t end = begin + CLAIM < level->count ? begin + CLAIM : level->count;
        for (size_t i = begin; i < end; i++)
            examine_item(level, &level->items[i], how);
    }
}

/* Split: claim and stat items until none is left. */
static void stat_claimed(Walk *self, Level *level)
{
    for (;;) {
        size_t begin = __atomic_fetch_add(&self->claimed, CLAIM, __ATOMIC_RELAXED);
        if (begin >= level->count)
            return;
        size_t end = begin + CLAIM < level->count ? begin + CLAIM : level->count;
        for (size_t i = begin; i < end; i++)
            examine_stat(level, &level->items[i]);
    }
}

/* Split: claim items and list their xattrs (a symlink's too: llistxattr does not follow it,
 * and drop_unwanted_xattrs discards what it says) until none is left. */
static void xattrs_claimed(Walk *self, Level *level, int how)
{
    for (;;) {
        size_t begin = __atomic_fetch_add(&self->xattrs_claimed, CLAIM, __ATOMIC_RELAXED);
        if (begin >= level->count)
            return;
        size_t end = begin + CLAIM < level->count ? begin + CLAIM : level->count;
        for (size_t i = begin; i < end; i++)
            examine_xattrs(level, &level->items[i], how);
    }
}

/* The helper's way for this level: on the fallback, its working directory made the level's
 * directory (once per directory) when it can be, so a name is looked up and not a /proc path. */
static int helper_way(Walk *self, Helper *helper, Level *level)
{
    if (self->have_listxattrat)
        return BY_LISTXATTRAT;
    if (!helper->own_cwd)
        return BY_PROC_FD;
    if (helper->cwd_serial != level->serial) {
        helper->cwd_serial = fchdir(level->fd) == 0 ? level->serial : 0;
        if (helper->cwd_serial == 0)
            return BY_PROC_FD;
    }
    return BY_CWD;
}

/* A hand-off first spins for about a microsecond (the other side is usually that close), then
 * sleeps on the condition variable: a longer spin would take the CPU from whoever else needs
 * it, the walk's own other thread included when both share one CPU. */
#define SPINS 64
#if defined(__x86_64__) || defined(__i386__)
#define CPU_RELAX() __builtin_ia32_pause()
#elif defined(__aarch64__)
#define CPU_RELAX() __asm__ __volatile__("yield")
#else
#define CPU_RELAX() ((void)0)
#endif

static int spin_until(int *flag, int value)
{
    for (int i = 0; i < SPINS; i++) {
        if (__atomic_load_n(flag, __ATOMIC_ACQUIRE) == value)
            return 1;
        CPU_RELAX();
    }
    return 0;
}

/* The helper's states (Helper.busy): idle, work posted, working on it. */
enum { IDLE, POSTED, WORKING };

static void *helper_main(void *argument)
{
    Helper *helper = argument;
    Walk *walk = helper->walk;
    /* A working directory of its own: changing it must not move the rest of the process's. */
    int own_cwd = unshare(CLONE_FS) == 0;
    pthread_mutex_lock(&helper->lock);
    helper->own_cwd = own_cwd;
    helper->ready = 1;
    pthread_cond_signal(&helper->done);
    pthread_mutex_unlock(&helper->lock);
    for (;;) {
        if (!spin_until(&helper->busy, POSTED)) {
            pthread_mutex_lock(&helper->lock);
            while (__atomic_load_n(&helper->busy, __ATOMIC_ACQUIRE) != POSTED && !helper->quit)
                pthread_cond_wait(&helper->wake, &helper->lock);
            int quit = helper->quit;
            pthread_mutex_unlock(&helper->lock);
            if (quit)
                break;
        }
        int posted = POSTED;
        if (!__atomic_compare_exchange_n(&helper->busy, &posted, WORKING, 0, __ATOMIC_ACQUIRE,
                                         __ATOMIC_RELAXED))
            continue; /* the caller did the whole chunk before this thread got to run */
        Level *level = walk->chunk;
        if (walk->split) {
            xattrs_claimed(walk, level, helper_way(walk, helper, level));
            stat_claimed(walk, level);
        } else {
            examine_claimed(walk, level, helper_way(walk, helper, level));
        }
        pthread_mutex_lock(&helper->lock);
        __atomic_store_n(&helper->busy, IDLE, __ATOMIC_RELEASE);
        pthread_cond_signal(&helper->done);
        pthread_mutex_unlock(&helper->lock);
    }
    return NULL;
}

static void wait_idle(Helper *helper)
{
    if (spin_until(&helper->busy, IDLE))
        return;
    pthread_mutex_lock(&helper->lock);
    while (__atomic_load_n(&helper->busy, __ATOMIC_ACQUIRE) != IDLE)
        pthread_cond_wait(&helper->done, &helper->lock);
    pthread_mutex_unlock(&helper->lock);
}

static void post(Helper *helper)
{
    pthread_mutex_lock(&helper->lock);
    __atomic_store_n(&helper->busy, POSTED, __ATOMIC_RELEASE);
    pthread_cond_signal(&helper->wake);
    pthread_mutex_unlock(&helper->lock);
}

/* Once every item is claimed, a helper that has not started is called off (it would find
 * nothing left), not waited for: a helper on a busy CPU never holds the walk up for long. */
static void call_off_or_wait(Helper *helper)
{
    int posted = POSTED;
    if (!__atomic_compare_exchange_n(&helper->busy, &posted, IDLE, 0, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE))
        wait_idle(helper);
}

/* The fallback's chunk: the caller stats every item it gets to (that needs no working
 * directory) while the helper, woken once, lists the xattrs by name in its own working
 * directory, then stats what the caller has not reached. The caller starts at once instead
 * of sleeping until the helper wakes (the old way, two helpers and the caller idle, cost two
 * or three wake-ups on the critical path of every directory), and then waits for the helper:
 * xattrs it listed itself would cost it several times as much through /proc/self/fd, and a
 * helper still waiting for a CPU gets the caller's once the caller sleeps. */
static void examine_split(Walk *self, Level *level)
{
    Helper *helper = &self->helpers[0];
    self->chunk = level;
    __atomic_store_n(&self->claimed, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&self->xattrs_claimed, 0, __ATOMIC_RELAXED);
    post(helper);
    stat_claimed(self, level);
    wait_idle(helper);
    for (size_t i = 0; i < level->count; i++)
        drop_unwanted_xattrs(&level->items[i]);
}

/* Examine a whole chunk, the helper claiming a share when it is worth it (on the fallback:
 * examine_split). */
static void examine_chunk(Walk *self, Level *level)
{
    if (self->n_helpers == 0 || level->count < (self->split ? HANDOFF_MIN : PARALLEL_MIN)) {
        for (size_t i = 0; i < level->count; i++)
            examine_item(level, &level->items[i], main_way(self));
        return;
    }
    if (self->split) {
        examine_split(self, level);
        return;
    }
    self->chunk = level;
    __atomic_store_n(&self->claimed, 0, __ATOMIC_RELAXED);
    post(&self->helpers[0]);
    examine_claimed(self, level, main_way(self));
    call_off_or_wait(&self->helpers[0]);
}

/* How many CPUs this process may run on. */
static int usable_cpus(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) < 0)
        return 1;
    return CPU_COUNT(&set);
}

static int set_path(Walk *self, size_t at, const char *name)
{
    size_t length = strlen(name);
    if (at + length + 2 > self->capacity) {
        size_t capacity = (at + length + 2) * 2;
        char *grown = PyMem_Realloc(self->path, capacity);
        if (grown == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        self->path = grown;
        self->capacity = capacity;
    }
    memcpy(self->path + at, name, length + 1);
    return 0;
}

static PyObject *entry_tuple(Walk *self, const struct stat *st, int xattr)
{
    return Py_BuildValue(
        "(y(KKIKII)i)", self->path, (unsigned long long)st->st_dev,
        (unsigned long long)st->st_ino, (unsigned int)st->st_mode,
        (unsigned long long)st->st_nlink, (unsigned int)st->st_uid, (unsigned int)st->st_gid,
        xattr);
}

static PyObject *error_tuple(Walk *self, int error)
{
    return Py_BuildValue("(yOi)", self->path, Py_None, error);
}

static void free_level(Level *level)
{
    closedir(level->dir);
    PyMem_RawFree(level->names);
    PyMem_RawFree(level);
}

#define PUSH_REPLACED (-2) /* push(): not the directory examined */

/* Enter the directory `name` of `parent_fd`, which must still be the inode `examined`:
 * 0, -1 with errno, or PUSH_REPLACED when another directory took its name meanwhile. */
static int push(Walk *self, int parent_fd, const char *name, size_t path_length,
                const struct stat *examined)
{
    int fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct stat opened;
    if (fstat(fd, &opened) < 0 || opened.st_dev != examined->st_dev ||
        opened.st_ino != examined->st_ino) {
        close(fd);
        return PUSH_REPLACED;
    }
    Level *level = PyMem_RawCalloc(1, sizeof(Level));
    DIR *dir = level ? fdopendir(fd) : NULL;
    if (dir == NULL) {
        int error = level ? errno : ENOMEM;
        close(fd);
        PyMem_RawFree(level);
        errno = error;
        return -1;
    }
    level->dir = dir;
    level->fd = fd;
    level->serial = ++self->serials;
    level->path_length = path_length;
    if (self->depth == self->max_depth) {
        size_t max_depth = self->max_depth ? self->max_depth * 2 : 16;
        Level **grown = PyMem_Realloc(self->levels, max_depth * sizeof(Level *));
        if (grown == NULL) {
            free_level(level);
            errno = ENOMEM;
            return -1;
        }
        self->levels = grown;
        self->max_depth = max_depth;
    }
    self->levels[self->depth++] = level;
    return 0;
}

/* Read the next chunk of names from the level's directory. */
static int read_chunk(Level *level)
{
    level->count = level->next = level->names_used = 0;
    while (level->count < CHUNK) {
        errno = 0;
        struct dirent *item = readdir(level->dir);
        if (item == NULL) {
            level->end = 1;
            level->error = errno;
            break;
        }
        const char *name = item->d_name;
        if (name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0')))
            continue;
        size_t length = strlen(name) + 1;
        if (level->names_used + length > level->names_capacity) {
            size_t capacity = (level->names_used + length) * 2 + 4096;
            char *grown = PyMem_RawRealloc(level->names, capacity);
            if (grown == NULL)
                return -1;
            level->names = grown;
            level->names_capacity = capacity;
        }
        memcpy(level->names + level->names_used, name, length);
        level->items[level->count++].name = level->names_used;
        level->names_used += length;
    }
    return 0;
}

/* The error tuple of a failed push(). */
static PyObject *push_error(Walk *self, int pushed)
{
    return error_tuple(self, pushed == PUSH_REPLACED ? REPLACED : errno);
}

static PyObject *walk_next(Walk *self)
{
    if (self->pending_error != NULL) {
        PyObject *error = self->pending_error;
        self->pending_error = NULL;
        return error;
    }
    if (self->top_pending) {
        self->top_pending = 0;
        self->scanned++;
        const char *name = self->path + self->top_name;
        int xattr = S_ISLNK(self->top_stat.st_mode) ? 0
                                                    : xattr_flags(main_way(self), self->top_fd, name);
        PyObject *result = xattr < 0 ? error_tuple(self, errno)
                                     : entry_tuple(self, &self->top_stat, xattr);
        int pushed = 0;
        if (result != NULL && S_ISDIR(self->top_stat.st_mode) &&
            (pushed = push(self, self->top_fd, name, strlen(self->path), &self->top_stat)) < 0)
            self->pending_error = push_error(self, pushed);
        return result;
    }
    while (self->depth > 0) {
        Level *level = self->levels[self->depth - 1];
        if (level->next == level->count) {
            if (level->end) {
                int error = level->error;
                self->path[level->path_length] = '\0';
                free_level(level);
                self->depth--;
                if (error)
                    return error_tuple(self, error);
                continue;
            }
            if (read_chunk(level) < 0)
                return PyErr_NoMemory();
            Py_BEGIN_ALLOW_THREADS
            examine_chunk(self, level);
            Py_END_ALLOW_THREADS
            continue;
        }
        Item *item = &level->items[level->next++];
        const char *name = level->names + item->name;
        size_t at = level->path_length;
        int needs_slash = at > 0 && self->path[at - 1] != '/';
        if (needs_slash)
            self->path[at] = '/';
        if (set_path(self, at + needs_slash, name) < 0)
            return NULL;
        if (item->error)
            return error_tuple(self, item->error);
        const struct stat *st = &item->st;
        if (st->st_dev != self->device && !self->cross_filesystems)
            continue;
        self->scanned++;
        int wanted = self->all_entries || (item->xattr & XATTR_RELEVANT) ||
                     has_id(self->uids, self->n_uids, st->st_uid) ||
                     has_id(self->gids, self->n_gids, st->st_gid);
        PyObject *result = NULL;
        if (item->xattr_error)
            result = error_tuple(self, item->xattr_error);
        else if (wanted)
            result = entry_tuple(self, st, item->xattr);
        if ((wanted || item->xattr_error) && result == NULL)
            return NULL;
        int pushed = 0;
        if (S_ISDIR(st->st_mode) &&
            (pushed = push(self, level->fd, name, strlen(self->path), st)) < 0) {
            PyObject *error = push_error(self, pushed);
            if (result == NULL)
                return error;
            self->pending_error = error;
        }
        if (result != NULL)
            return result;
    }
    return NULL; /* exhausted: StopIteration */
}

static int read_ids(PyObject *sequence, unsigned long long *ids, size_t *count)
{
    PyObject *fast = PySequence_Fast(sequence, "uids and gids must be sequences of ints");
    if (fast == NULL)
        return -1;
    Py_ssize_t length = PySequence_Fast_GET_SIZE(fast);
    if (length > MAX_IDS) {
        Py_DECREF(fast);
        PyErr_Format(PyExc_ValueError, "at most %d numbers per walk", MAX_IDS);
        return -1;
    }
    for (Py_ssize_t i = 0; i < length; i++) {
        ids[i] = PyLong_AsUnsignedLongLong(PySequence_Fast_GET_ITEM(fast, i));
        if (PyErr_Occurred()) {
            Py_DECREF(fast);
            return -1;
        }
    }
    *count = (size_t)length;
    Py_DECREF(fast);
    return 0;
}

/* listxattrat (Linux 6.13) answers for the top: anything but an answer, ENOSYS or a refusal
 * by a seccomp filter alike, means the /proc/self/fd fallback. */
static int probe_listxattrat(int dir_fd, const char *name)
{
    return syscall(__NR_listxattrat, dir_fd, name, AT_SYMLINK_NOFOLLOW, NULL, 0) >= 0;
}

/* The fallback names entries through /proc/self/fd: it must show this very directory. */
static int proc_fd_works(int dir_fd)
{
    char path[sizeof "/proc/self/fd/" + 3 * sizeof(int)];
    struct stat direct, through_proc;
    snprintf(path, sizeof path, "/proc/self/fd/%d", dir_fd);
    return fstat(dir_fd, &direct) == 0 && stat(path, &through_proc) == 0 &&
           direct.st_dev == through_proc.st_dev && direct.st_ino == through_proc.st_ino;
}

/* With listxattrat, one helper beside the caller when there are two CPUs or more; on the
 * fallback one helper in any case, to list xattrs in its own working directory (the split),
 * or to share the examining like with listxattrat if it did not get one. Without a thread
 * the walk still works, only slower. */
static void start_helpers(Walk *self)
{
    int cpus = usable_cpus();
    int wanted = self->have_listxattrat ? (cpus >= 2) : 1;
    int own_cwd = 0;
    for (int i = 0; i < wanted; i++) {
        Helper *helper = &self->helpers[i];
        helper->walk = self;
        pthread_mutex_init(&helper->lock, NULL);
        pthread_cond_init(&helper->wake, NULL);
        pthread_cond_init(&helper->done, NULL);
        self->helpers_made++;
        if (pthread_create(&helper->thread, NULL, helper_main, helper) != 0)
            break;
        self->n_helpers++;
        pthread_mutex_lock(&helper->lock);
        while (!helper->ready)
            pthread_cond_wait(&helper->done, &helper->lock);
        pthread_mutex_unlock(&helper->lock);
        own_cwd |= helper->own_cwd;
    }
    self->split = !self->have_listxattrat && own_cwd;
}

static PyObject *walk_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"dir_fd",    "name",        "path",       "uids", "gids",
                               "cross_filesystems", "all_entries", "listxattrat", NULL};
    int dir_fd;
    const char *name, *path;
    Py_ssize_t name_length, path_length;
    PyObject *uids, *gids;
    int cross_filesystems = 0, all_entries = 0, listxattrat = 1;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "iy#y#OO|ppp", keywords, &dir_fd, &name,
                                     &name_length, &path, &path_length, &uids, &gids,
                                     &cross_filesystems, &all_entries, &listxattrat))
        return NULL;
    if ((size_t)name_length != strlen(name) || (size_t)path_length != strlen(path)) {
        PyErr_SetString(PyExc_ValueError, "embedded NUL in path");
        return NULL;
    }
    if (name_length == 0 || strchr(name, '/') != NULL || (size_t)name_length > NAME_MAX ||
        (size_t)path_length < (size_t)name_length ||
        strcmp(path + path_length - name_length, name) != 0) {
        PyErr_SetString(PyExc_ValueError, "name must be one component, the end of path");
        return NULL;
    }
    Walk *self = (Walk *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    self->top_fd = dir_fd;
    self->top_name = (size_t)(path_length - name_length);
    self->cross_filesystems = cross_filesystems;
    self->all_entries = all_entries;
    /* Decided once, before the second thread reads the answer. */
    self->have_listxattrat = listxattrat && probe_listxattrat(dir_fd, name);
    if (read_ids(uids, self->uids, &self->n_uids) < 0 ||
        read_ids(gids, self->gids, &self->n_gids) < 0 || set_path(self, 0, path) < 0) {
        Py_DECREF(self);
        return NULL;
    }
    if (!self->have_listxattrat && !proc_fd_works(dir_fd)) {
        Py_DECREF(self);
        PyErr_SetString(PyExc_OSError,
                        "/proc/self/fd does not show this process's descriptors (is /proc "
                        "mounted?): needed to read xattrs on kernels without listxattrat");
        return NULL;
    }
    if (fstatat(dir_fd, name, &self->top_stat, AT_SYMLINK_NOFOLLOW) < 0) {
        int error = errno;
        Py_DECREF(self);
        errno = error;
        return PyErr_SetFromErrnoWithFilenameObjects(PyExc_OSError, PyTuple_GET_ITEM(args, 2), NULL);
    }
    self->device = self->top_stat.st_dev;
    self->top_pending = 1;
    start_helpers(self);
    return (PyObject *)self;
}

static void walk_dealloc(Walk *self)
{
    for (int i = 0; i < self->n_helpers; i++) {
        Helper *helper = &self->helpers[i];
        pthread_mutex_lock(&helper->lock);
        helper->quit = 1;
        pthread_cond_signal(&helper->wake);
        pthread_mutex_unlock(&helper->lock);
        pthread_join(helper->thread, NULL);
    }
    for (int i = 0; i < self->helpers_made; i++) {
        Helper *helper = &self->helpers[i];
        pthread_mutex_destroy(&helper->lock);
        pthread_cond_destroy(&helper->wake);
        pthread_cond_destroy(&helper->done);
    }
    while (self->depth > 0)
        free_level(self->levels[--self->depth]);
    Py_XDECREF(self->pending_error);
    PyMem_Free(self->levels);
    PyMem_Free(self->path);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *walk_scanned(Walk *self, void *closure)
{
    return PyLong_FromUnsignedLongLong(self->scanned);
}

static PyObject *walk_listxattrat(Walk *self, void *closure)
{
    return PyBool_FromLong(self->have_listxattrat);
}

static PyGetSetDef walk_getset[] = {
    {"scanned", (getter)walk_scanned, NULL, "entries looked at so far", NULL},
    {"listxattrat", (getter)walk_listxattrat, NULL, "xattrs are listed with listxattrat", NULL},
    {NULL},
};

static PyTypeObject WalkType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "libvirt_static_ids.files._walk.Walk",
    .tp_doc = PyDoc_STR(
        "Walk(dir_fd, name, path, uids, gids, cross_filesystems=False, all_entries=False,\n"
        "     listxattrat=True)\n\n"
        "Iterate (path, (dev, ino, mode, nlink, uid, gid), xattr_flags) for the entry name\n"
        "of dir_fd (known as path) and the entries under it that may need a change (every\n"
        "entry with all_entries), and (path, None, errno) for entries that could not be read\n"
        "(errno -1: a directory replaced between its stat and its open). xattr_flags: 1 an\n"
        "ACL or libvirt label xattr, 2 security.capability."),
    .tp_basicsize = sizeof(Walk),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = walk_new,
    .tp_dealloc = (destructor)walk_dealloc,
    .tp_iter = PyObject_SelfIter,
    .tp_iternext = (iternextfunc)walk_next,
    .tp_getset = walk_getset,
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "libvirt_static_ids.files._walk",
    .m_doc = "Fast file tree walk for repair.",
    .m_size = -1,
};

PyMODINIT_FUNC PyInit__walk(void)
{
    if (PyType_Ready(&WalkType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    Py_INCREF(&WalkType);
    if (PyModule_AddObject(m, "Walk", (PyObject *)&WalkType) < 0) {
        Py_DECREF(&WalkType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
