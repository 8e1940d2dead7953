/* Reason phrases for SIP status codes: RFC 3261 section 21 plus the common extensions. */
#include "ixedge/sip.h"

/* X(code, phrase); the RFC that defines a code is noted when it is not RFC 3261. */
#define SIP_STATUSES(X)                                                                            \
	X(100, "Trying")                                                                           \
	X(180, "Ringing")                                                                          \
	X(181, "Call Is Being Forwarded")                                                          \
	X(182, "Queued")                                                                           \
	X(183, "Session Progress")                                                                 \
	X(199, "Early Dialog Terminated") /* RFC 6228 */                                           \
	X(200, "OK")                                                                               \
	X(202, "Accepted")        /* RFC 3265 */                                                   \
	X(204, "No Notification") /* RFC 5839 */                                                   \
	X(300, "Multiple Choices")                                                                 \
	X(301, "Moved Permanently")                                                                \
	X(302, "Moved Temporarily")                                                                \
	X(305, "Use Proxy")                                                                        \
	X(380, "Alternative Service")                                                              \
	X(400, "Bad Request")                                                                      \
	X(401, "Unauthorized")                                                                     \
	X(402, "Payment Required")                                                                 \
	X(403, "Forbidden")                                                                        \
	X(404, "Not Found")                                                                        \
	X(405, "Method Not Allowed")                                                               \
	X(406, "Not Acceptable")                                                                   \
	X(407, "Proxy Authentication Required")                                                    \
	X(408, "Request Timeout")                                                                  \
	X(410, "Gone")                                                                             \
	X(412, "Conditional Request Failed") /* RFC 3903 */                                        \
	X(413, "Request Entity Too Large")                                                         \
	X(414, "Request-URI Too Long")                                                             \
	X(415, "Unsupported Media Type")                                                           \
	X(416, "Unsupported URI Scheme")                                                           \
	X(417, "Unknown Resource-Priority") /* RFC 4412 */                                         \
	X(420, "Bad Extension")                                                                    \
	X(421, "Extension Required")                                                               \
	X(422, "Session Interval Too Small") /* RFC 4028 */                                        \
	X(423, "Interval Too Brief")                                                               \
	X(424, "Bad Location Information")         /* RFC 6442 */                                  \
	X(428, "Use Identity Header")              /* RFC 4474 */                                  \
	X(429, "Provide Referrer Identity")        /* RFC 3892 */                                  \
	X(430, "Flow Failed")                      /* RFC 5626 */                                  \
	X(433, "Anonymity Disallowed")             /* RFC 5079 */                                  \
	X(436, "Bad Identity-Info")                /* RFC 4474 */                                  \
	X(437, "Unsupported Certificate")          /* RFC 4474 */                                  \
	X(438, "Invalid Identity Header")          /* RFC 4474 */                                  \
	X(439, "First Hop Lacks Outbound Support") /* RFC 5626 */                                  \
	X(440, "Max-Breadth Exceeded")             /* RFC 5393 */                                  \
	X(469, "Bad Info Package")                 /* RFC 6086 */                                  \
	X(470, "Consent Needed")                   /* RFC 5360 */                                  \
	X(480, "Temporarily Unavailable")                                                          \
	X(481, "Call/Transaction Does Not Exist")                                                  \
	X(482, "Loop Detected")                                                                    \
	X(483, "Too Many Hops")                                                                    \
	X(484, "Address Incomplete")                                                               \
	X(485, "Ambiguous")                                                                        \
	X(486, "Busy Here")                                                                        \
	X(487, "Request Terminated")                                                               \
	X(488, "Not Acceptable Here")                                                              \
	X(489, "Bad Event") /* RFC 6665 */                                                         \
	X(491, "Request Pending")                                                                  \
	X(493, "Undecipherable")                                                                   \
	X(494, "Security Agreement Required") /* RFC 3329 */                                       \
	X(500, "Server Internal Error")                                                            \
	X(501, "Not Implemented")                                                                  \
	X(502, "Bad Gateway")                                                                      \
	X(503, "Service Unavailable")                                                              \
	X(504, "Server Time-out")                                                                  \
	X(505, "Version Not Supported")                                                            \
	X(513, "Message Too Large")                                                                \
	X(580, "Precondition Failure") /* RFC 3312 */                                              \
	X(600, "Busy Everywhere")                                                                  \
	X(603, "Decline")                                                                          \
	X(604, "Does Not Exist Anywhere")                                                          \
	X(606, "Not Acceptable")                                                                   \
	X(607, "Unwanted") /* RFC 8197 */                                                          \
	X(608, "Rejected") /* RFC 8688 */

const char *sip_status_reason(uint16_t status)
{
	switch (status) {
#define X(code, phrase)                                                                            \
	case code:                                                                                 \
		return phrase;
		SIP_STATUSES(X)
#undef X
	default:
		return "Unknown";
	}
}
