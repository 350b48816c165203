/*
 * test_fixture.c -- the file-fed back-end on its own: parsing (comments,
 * "-" for no client, user names to uids), its error messages, enumerate,
 * each (enumerate's order; FN's error stops the walk and is returned), find
 * (the first of a repeated SessionId), Disconnect writing its line in place
 * and Logoff rewriting the file, the cache following the file, and what
 * 10,000 sessions cost.
 */
#include <malloc.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/fixture/fixture.h"
#include "check.h"
#include "session_walk.h"

static char path[64];
static rdms_config cfg;

static void write_file(const char *text)
{
	char tmp[80];
	FILE *f;

	/* a new inode each time, so the cache sees a new file whatever the clock */
	snprintf(tmp, sizeof tmp, "%s.new", path);
	f = fopen(tmp, "w");
	if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0 || rename(tmp, path) != 0) {
		perror(tmp);
		exit(2);
	}
}

static void read_file(char *out, size_t size)
{
	FILE *f = fopen(path, "r");
	size_t n = f != NULL ? fread(out, 1, size - 1, f) : 0;

	out[n] = '\0';
	if (f != NULL)
		fclose(f);
}

static bool same_session(const rdms_session *a, const rdms_session *b)
{
	return a->id == b->id && a->connect_state == b->connect_state && a->uid == b->uid &&
	       strcmp(a->user, b->user) == 0 && strcmp(a->client, b->client) == 0 &&
	       strcmp(a->kind, b->kind) == 0 && a->backend == b->backend &&
	       a->display == b->display && a->server_pid == b->server_pid &&
	       a->wm_pid == b->wm_pid && a->conn_pid == b->conn_pid;
}

/* each hands out what enumerate lists, in the same order. */
static bool each_matches_enumerate(void)
{
	rdms_session_list l = { 0 };
	struct walk w = { 0 };
	rdms_error err = { 0 };
	bool same;

	same = rdms_backend_fixture.enumerate(&cfg, &l, &err) == WBEM_S_NO_ERROR &&
	       rdms_backend_fixture.each(&cfg, record, &w, &err) == WBEM_S_NO_ERROR &&
	       l.count == w.seen.count;
	for (size_t i = 0; same && i < l.count; i++)
		same = same_session(&l.items[i], &w.seen.items[i]);
	rdms_session_list_free(&l);
	rdms_session_list_free(&w.seen);
	return same;
}

static const char sample[] =
	"# id user state client\n"
	"\n"
	"   # an indented comment\n"
	"101 root 0 PC-ROOT\n"
	"\t102  nobody\t4 -\n"
	"103 no-such-user-here 0 10.0.0.5\r\n"
	"104 root 0 PC-2\n"
	"102 root 0 LATER\n";

static void test_parse(void)
{
	rdms_session_list l = { 0 };
	rdms_error err = { 0 };
	struct passwd *pw = getpwnam("nobody");
	uid_t nobody = pw != NULL ? pw->pw_uid : (uid_t)-1;   /* before getpwnam runs again */

	write_file(sample);
	CHECK_EQ(rdms_backend_fixture.enumerate(&cfg, &l, &err), 0);
	CHECK_EQ(l.count, 5);
	if (l.count == 5) {
		CHECK_EQ(l.items[0].id, 101);
		CHECK_STR(l.items[0].user, "root");
		CHECK_EQ(l.items[0].uid, 0);
		CHECK_STR(l.items[0].client, "PC-ROOT");
		CHECK_STR(l.items[0].kind, "fixture");
		CHECK_EQ(l.items[0].display, -1);
		CHECK(l.items[0].backend == &rdms_backend_fixture);
		CHECK_EQ(l.items[1].connect_state, WTS_DISCONNECTED);
		CHECK_STR(l.items[1].client, "");
		CHECK_EQ(l.items[1].uid, nobody);
		CHECK_EQ(l.items[2].uid, (uid_t)-1);
		CHECK_STR(l.items[2].client, "10.0.0.5");
		CHECK_STR(l.items[3].user, "root");
		CHECK_EQ(l.items[3].uid, 0);
		CHECK_STR(l.items[4].client, "LATER");
	}
	rdms_session_list_free(&l);
	CHECK(each_matches_enumerate());
}

static void test_errors(void)
{
	rdms_session_list l = { 0 };
	struct walk w = { 0 };
	rdms_error err = { 0 };
	char line[600], expect[160];

	write_file("1 root 0 PC\n2 root 0\n");
	CHECK_EQ(rdms_backend_fixture.each(&cfg, record, &w, &err), WBEM_E_PROVIDER_FAILURE);
	CHECK_STR(err.message, "fixture line 2: expected 'id user state client'");
	CHECK_EQ(w.seen.count, 0);   /* a bad file hands out nothing */
	write_file("1 root 10 PC\n");
	CHECK_EQ(rdms_backend_fixture.enumerate(&cfg, &l, &err), WBEM_E_PROVIDER_FAILURE);
	CHECK_STR(err.message, "fixture line 1: expected 'id user state client'");
	CHECK_EQ(l.count, 0);
	write_file("# x\n1 root 0 PC extra\n");
	CHECK_EQ(rdms_backend_fixture.each(&cfg, record, &w, &err), WBEM_E_PROVIDER_FAILURE);
	CHECK_STR(err.message, "fixture line 2: expected 'id user state client'");
	write_file("4294967296 root 0 PC\n");
	CHECK_EQ(rdms_backend_fixture.each(&cfg, record, &w, &err), WBEM_E_PROVIDER_FAILURE);
	/* a user name longer than rdms_session's field */
	memset(line, 'u', sizeof line);
	memcpy(line, "1 ", 2);
	snprintf(line + 2 + 256, sizeof line - 258, " 0 PC\n");
	write_file(line);
	CHECK_EQ(rdms_backend_fixture.each(&cfg, record, &w, &err), WBEM_E_PROVIDER_FAILURE);
	/* a missing file */
	unlink(path);
	CHECK_EQ(rdms_backend_fixture.each(&cfg, record, &w, &err), WBEM_E_PROVIDER_FAILURE);
	snprintf(expect, sizeof expect, "fixture %s: No such file or directory", path);
	CHECK_STR(err.message, expect);
	CHECK_EQ(w.seen.count, 0);
	/* an empty file: no sessions, no error */
	write_file("# nothing\n");
	CHECK_EQ(rdms_backend_fixture.each(&cfg, record, &w, &err), 0);
	CHECK_EQ(w.seen.count, 0);
	rdms_session_list_free(&w.seen);
}

static void test_each(void)
{
	struct walk w = { .stop_at = 3 };
	rdms_error err = { 0 };

	write_file(sample);
	/* FN's error stops the walk there and is what each returns */
	CHECK_EQ(rdms_backend_fixture.each(&cfg, record, &w, &err), WBEM_E_FAILED);
	CHECK_STR(err.message, "stopped at session 103");
	CHECK_EQ(w.seen.count, 2);
	rdms_session_list_free(&w.seen);
	/* the same through the generic walk */
	w = (struct walk){ .stop_at = 1 };
	CHECK_EQ(rdms_backend_each(&rdms_backend_fixture, &cfg, record, &w, &err), WBEM_E_FAILED);
	CHECK_STR(err.message, "stopped at session 101");
	CHECK_EQ(w.seen.count, 0);
	w = (struct walk){ 0 };
	CHECK_EQ(rdms_backend_each(&rdms_backend_fixture, &cfg, record, &w, &err), 0);
	CHECK_EQ(w.seen.count, 5);
	rdms_session_list_free(&w.seen);
}

static void test_find_and_act(void)
{
	rdms_error err = { 0 };
	rdms_session s;
	char text[512];

	write_file(sample);
	CHECK_EQ(rdms_backend_fixture.find(&cfg, 102, &s, &err), 0);
	CHECK_STR(s.user, "nobody");   /* the first line of a repeated id */
	CHECK_EQ(rdms_backend_fixture.find(&cfg, 7, &s, &err), WBEM_E_NOT_FOUND);
	CHECK_STR(err.message, "no session 7");

	CHECK_EQ(rdms_backend_fixture.find(&cfg, 101, &s, &err), 0);
	CHECK_EQ(rdms_backend_fixture.disconnect(&cfg, &s, &err), 0);
	CHECK_EQ(rdms_backend_fixture.disconnect(&cfg, &s, &err), WBEM_E_INVALID_OPERATION);
	CHECK_STR(err.message, "session 101 is not connected");
	CHECK_EQ(rdms_backend_fixture.send_message(&cfg, &s, "T", "M", NULL, &err), 0);
	read_file(text, sizeof text);   /* in place: the rest of the file as it was */
	CHECK_STR(text, "# id user state client\n\n   # an indented comment\n101 root 4 -      \n"
	                "\t102  nobody\t4 -\n103 no-such-user-here 0 10.0.0.5\r\n"
	                "104 root 0 PC-2\n102 root 0 LATER\n");
	CHECK_EQ(rdms_backend_fixture.find(&cfg, 101, &s, &err), 0);
	CHECK_EQ(s.connect_state, WTS_DISCONNECTED);
	CHECK_STR(s.client, "");

	/* Logoff drops the line: the last one takes its place */
	CHECK_EQ(rdms_backend_fixture.logoff(&cfg, &s, &err), 0);
	read_file(text, sizeof text);
	CHECK_STR(text, "102 root 0 LATER\n102 nobody 4 -\n103 no-such-user-here 0 10.0.0.5\n"
	                "104 root 0 PC-2\n");
	CHECK_EQ(rdms_backend_fixture.find(&cfg, 101, &s, &err), WBEM_E_NOT_FOUND);
	CHECK_EQ(rdms_backend_fixture.find(&cfg, 102, &s, &err), 0);
	CHECK_STR(s.user, "root");
	CHECK(each_matches_enumerate());
	s.id = 999;
	CHECK_EQ(rdms_backend_fixture.logoff(&cfg, &s, &err), WBEM_E_NOT_FOUND);

	/* the cache follows the file */
	write_file("5 root 0 A\n");
	CHECK_EQ(rdms_backend_fixture.find(&cfg, 102, &s, &err), WBEM_E_NOT_FOUND);
	CHECK_EQ(rdms_backend_fixture.find(&cfg, 5, &s, &err), 0);
	CHECK_STR(s.client, "A");
}

/* Heap in use (glibc's arena and its mmapped chunks); 0 under a sanitizer's allocator. */
static size_t heap_in_use(void)
{
	struct mallinfo2 m = mallinfo2();

	return m.uordblks + m.hblkhd;
}

static void test_many(void)
{
	FILE *f = fopen(path, "w");
	struct walk w = { 0 };
	rdms_error err = { 0 };
	rdms_session s;
	size_t before, after;

	for (int i = 1; i <= 10000; i++)
		fprintf(f, i % 4 ? "%d root 0 client-%d\n" : "%d root 4 -\n", i, i);
	fclose(f);
	before = heap_in_use();
	CHECK_EQ(rdms_backend_fixture.find(&cfg, 10000, &s, &err), 0);   /* loads the cache */
	after = heap_in_use();
	if (before > 0 && after > before) {
		printf("fixture: 10,000 sessions cached in %zu bytes\n", after - before);
		CHECK(after - before < 1024 * 1024);
	}
	CHECK_EQ(s.connect_state, WTS_DISCONNECTED);
	CHECK_EQ(rdms_backend_fixture.find(&cfg, 9999, &s, &err), 0);
	CHECK_STR(s.client, "client-9999");
	CHECK_EQ(rdms_backend_fixture.each(&cfg, record, &w, &err), 0);
	CHECK_EQ(w.seen.count, 10000);
	CHECK(w.seen.count == 10000 && w.seen.items[9999].id == 10000);
	rdms_session_list_free(&w.seen);
	CHECK(each_matches_enumerate());
}

static ino_t inode(void)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_ino : 0;
}

static void disconnect(uint32_t id)
{
	rdms_error err = { 0 };
	rdms_session s = { .id = id };

	CHECK_EQ(rdms_backend_fixture.disconnect(&cfg, &s, &err), 0);
}

/*
 * Disconnect overwrites the session's line in place, padded to its old
 * length; where the line's place is not known (the last line without its
 * newline) or the line crosses a page, the file is rewritten instead, and
 * the places the rewrite noted serve the next Disconnect.  A padded line
 * reads back as it was meant.
 */
static void test_in_place(void)
{
	char text[8192], expect[8192];
	rdms_session s;
	rdms_error err = { 0 };
	ino_t before;
	size_t n = 0;

	write_file("1 root 0 LONG-CLIENT-NAME\n2 root 0 B\n3 root 0 C");
	CHECK_EQ(rdms_backend_fixture.find(&cfg, 1, &s, &err), 0);
	before = inode();
	disconnect(1);
	read_file(text, sizeof text);
	CHECK_STR(text, "1 root 4 -               \n2 root 0 B\n3 root 0 C");
	CHECK(inode() == before);
	disconnect(3);                   /* no newline: rewritten */
	read_file(text, sizeof text);
	CHECK_STR(text, "1 root 4 -\n2 root 0 B\n3 root 4 -\n");
	CHECK(inode() != before);
	before = inode();
	disconnect(2);                   /* in place again, where the rewrite put it */
	read_file(text, sizeof text);
	CHECK_STR(text, "1 root 4 -\n2 root 4 -\n3 root 4 -\n");
	CHECK(inode() == before);
	CHECK(each_matches_enumerate());

	write_file("5 root 4 -    \n6 root 0 X  \n");   /* padded lines, read again */
	CHECK_EQ(rdms_backend_fixture.find(&cfg, 5, &s, &err), 0);
	CHECK_STR(s.client, "");
	CHECK_EQ(s.connect_state, WTS_DISCONNECTED);
	disconnect(6);
	read_file(text, sizeof text);
	CHECK_STR(text, "5 root 4 -    \n6 root 4 -  \n");

	/* comment lines up to 4,080 bytes: session 9's line crosses the page at 4,096 */
	for (int i = 0; i < 4; i++) {
		text[n++] = '#';
		memset(text + n, 'c', 1018);
		n += 1018;
		text[n++] = '\n';
	}
	snprintf(text + n, sizeof text - n, "9 root 0 ABCDEFGHIJKLMNOPQRSTUVWXYZ\n8 root 0 Y\n");
	write_file(text);
	CHECK_EQ(rdms_backend_fixture.find(&cfg, 9, &s, &err), 0);
	before = inode();
	disconnect(9);
	read_file(text, sizeof text);
	snprintf(expect, sizeof expect, "9 root 4 -\n8 root 0 Y\n");
	CHECK_STR(text, expect);
	CHECK(inode() != before);

	/*
	 * A rewrite that fails (its temp file cannot be made) leaves the file
	 * as it was, and the cache is read from it again: the session stays
	 * connected, and the next Disconnect finds its line where the file has
	 * it, not where the unwritten text would have.
	 */
	write_file("1  root   0 A\n2 root 0 B");
	CHECK_EQ(rdms_backend_fixture.find(&cfg, 2, &s, &err), 0);
	snprintf(expect, sizeof expect, "%s.tmp", path);
	CHECK_EQ(mkdir(expect, 0700), 0);
	CHECK_EQ(rdms_backend_fixture.disconnect(&cfg, &s, &err), WBEM_E_FAILED);
	CHECK_EQ(rmdir(expect), 0);
	disconnect(1);
	read_file(text, sizeof text);
	CHECK_STR(text, "1  root   4 -\n2 root 0 B");
	CHECK_EQ(rdms_backend_fixture.find(&cfg, 2, &s, &err), 0);
	CHECK_EQ(s.connect_state, WTS_ACTIVE);
	CHECK_STR(s.client, "B");
}

/*
 * A rewrite gives each line back as it was read but the one changed: the
 * largest SessionId, names of 255 bytes, every state; none left, an empty
 * file.
 */
static void test_rewrite_text(void)
{
	char user[256], line[600], text[2048], expect[2048];
	rdms_error err = { 0 };
	rdms_session s;

	memset(user, 'u', 255);
	user[255] = '\0';
	snprintf(line, sizeof line, "4294967295 %s 9 %s\n0 root 0 C\n7 root 5 -\n", user, user);
	write_file(line);
	CHECK_EQ(rdms_backend_fixture.find(&cfg, 0, &s, &err), 0);
	CHECK_EQ(rdms_backend_fixture.disconnect(&cfg, &s, &err), 0);
	read_file(text, sizeof text);
	snprintf(expect, sizeof expect, "4294967295 %s 9 %s\n0 root 4 -\n7 root 5 -\n", user, user);
	CHECK_STR(text, expect);
	for (uint32_t id = 0; id < 3; id++) {
		s.id = id == 0 ? 0 : id == 1 ? 7 : 4294967295u;
		CHECK_EQ(rdms_backend_fixture.logoff(&cfg, &s, &err), 0);
	}
	read_file(text, sizeof text);
	CHECK_STR(text, "");
	CHECK_EQ(rdms_backend_fixture.find(&cfg, 7, &s, &err), WBEM_E_NOT_FOUND);
}

/*
 * The table of back-ends that run (backend_table.c) lists RDMS_BACKEND_LIST
 * in order, as the back-ends themselves: the names the network processes'
 * table (backend_names.c, test_backend_names) gives are these.
 */
static void test_table(void)
{
#define NAME(id) #id,
	static const char *const listed[] = { RDMS_BACKEND_LIST(NAME) NULL };
#undef NAME
	size_t n = 0;

	for (; rdms_backends[n] != NULL && listed[n] != NULL; n++)
		CHECK_STR(rdms_backends[n]->name, listed[n]);
	CHECK(rdms_backends[n] == NULL && listed[n] == NULL);
	CHECK(rdms_backend_find("fixture") == &rdms_backend_fixture);
	CHECK(rdms_backend_fixture.available != NULL && rdms_backend_fixture.enumerate != NULL);
}

int main(void)
{
	test_table();
	snprintf(path, sizeof path, "/tmp/rdms-test-fixture-%d", (int)getpid());
	rdms_config_defaults(&cfg);
	snprintf(cfg.fixture_file, sizeof cfg.fixture_file, "%s", path);
	getpwnam("root");   /* NSS sets itself up once, outside the figures */
	test_parse();
	test_errors();
	test_each();
	test_find_and_act();
	test_rewrite_text();
	test_in_place();
	test_many();
	unlink(path);
	return check_summary("fixture");
}
