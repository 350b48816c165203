/*
 * message.h -- what SendMessage(Title, Message) accepts and how a call may
 * be tuned, defined once for every path: the `rdms message` command, the
 * operation layer (all front ends), the privsep wire and the back-ends.
 *
 * The class's method stays SendMessage(Title, Message) exactly.  How long
 * the dialog stays and whether the call waits for the user are carried out
 * of band, as WMI carries per-call context: WS-Man w:OptionSet options, the
 * CIM-XML request headers RDMS-MessageTimeout / RDMS-MessageWait, the
 * CLI's --timeout / --wait.  Each front end hands the name and text of
 * what it received to rdms_message_option, so they all read them alike.
 */
#ifndef RDMS_BACKEND_MESSAGE_H
#define RDMS_BACKEND_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../cim/wbem.h"

/* Longest Title and Message, in bytes of UTF-8 (rdms(1), rdmsd(8)). */
#define RDMS_MESSAGE_MAX_TITLE     256
#define RDMS_MESSAGE_MAX_TEXT      4096
/* Longest MessageTimeout, in seconds (a day, as message_timeout_s). */
#define RDMS_MESSAGE_MAX_TIMEOUT_S 86400

/* Option names: WS-Man w:Option/@Name, and "RDMS-" + name as a CIM-XML header. */
#define RDMS_MESSAGE_OPT_TIMEOUT   "MessageTimeout"
#define RDMS_MESSAGE_OPT_WAIT      "MessageWait"

typedef struct rdms_message_options {
	/* Seconds the dialog stays while the session is connected; 0: the
	 * config's message_timeout_s.  Disconnected time does not count. */
	uint32_t timeout_s;
	/* Return only once the user closed the dialog (ReturnValue 0) or
	 * TIMEOUT_S passed without that (WBEM_E_TIMED_OUT). */
	bool     wait;
	/*
	 * For a caller that waits itself (rdmsd's privileged process must not
	 * hold a channel for minutes): with WAIT, the back-end returns once the
	 * dialog shows and leaves here the descriptor to hand to
	 * rdms_message_wait.  NULL: the back-end waits.
	 */
	int     *wait_fd;
} rdms_message_options;

/*
 * Title and Message present, within their limits, valid UTF-8 and free of
 * control characters (the Message may hold newlines and tabs).
 * WBEM_E_INVALID_PARAMETER with a message that names the limit or the
 * offending byte.
 */
uint32_t rdms_message_check(const char *title, const char *message, rdms_error *err);

/*
 * Sets the option NAME (case-insensitive: MessageTimeout, MessageWait) in
 * O from its text VALUE: a timeout in whole seconds 1..86400, a wait as
 * true/false (or 1/0).  WBEM_E_INVALID_PARAMETER for a bad value;
 * WBEM_E_NOT_FOUND when NAME is not one of these (the caller decides
 * whether an unknown option matters).
 */
uint32_t rdms_message_option(rdms_message_options *o, const char *name, const char *value,
                             rdms_error *err);

/* True when O asks for anything (a timeout or a wait). */
bool rdms_message_options_given(const rdms_message_options *o);

/*
 * The locale for a dialog in a session whose processes have ENVIRON (LEN
 * bytes of NUL-separated NAME=VALUE, as /proc/PID/environ): the session's
 * LANG, LANGUAGE and LC_* when its character set is UTF-8 and the locale
 * exists here, else its LANGUAGE and LC_MESSAGES with LANG=C.UTF-8, so
 * that the text still shows right.  Up to MAX assignments go to OUT (each
 * SIZE bytes); returns how many.
 */
size_t rdms_message_locale(const char *environ, size_t len, char *out, size_t size,
                           size_t max);

#endif
