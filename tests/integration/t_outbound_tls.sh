#!/bin/bash
# t_outbound_tls - the outbox sender with relay_tls = encrypt: Postfix's
# submission listener offers STARTTLS with a certificate for localhost;
# with relay_ca_file naming that certificate the acknowledgement goes out
# over TLS (1.2: our own SSL_CTX, see DEPS.md); after a reload with a CA
# that did not sign it, new mail waits in the outbox with a TLS error
# instead of going out in clear.
. "$(dirname "$0")/lib.sh" "$@"
. "$(dirname "$0")/outbound.sh"
pd_setup outbound_tls
for name in relay other; do
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
        -addext subjectAltName=DNS:localhost \
        -keyout "$PD_DIR/$name-key.pem" -out "$PD_DIR/$name-cert.pem" >/dev/null 2>&1 ||
        pd_die "openssl req failed"
done
chmod 644 "$PD_DIR"/*-cert.pem "$PD_DIR"/*-key.pem
ob_conf relay_tls=encrypt "relay_ca_file=$PD_DIR/relay-cert.pem"
# The certificate names localhost (libesmtp checks DNS names only).
sed -i "s|^relay = .*|relay = localhost:$PD_SUB_PORT|" "$PD_CONF"
pd_postfix_start
svc="127.0.0.1:$PD_SUB_PORT/inet"
postconf -c "$PF/etc" -P "$svc/smtpd_tls_security_level=may" \
    "$svc/smtpd_tls_cert_file=$PD_DIR/relay-cert.pem" \
    "$svc/smtpd_tls_key_file=$PD_DIR/relay-key.pem" "$svc/smtpd_tls_loglevel=1" ||
    pd_die "postconf -P (TLS) failed"
postfix -c "$PF/etc" reload >/dev/null 2>&1
sleep 1
pd_lmtpd_start

# 1. A trusted certificate: delivered over TLS.
pd_send marie@client.test helpdesk@desk.test "Chiffrement"
pd_wait_queue_empty 60 || pd_fail "request not delivered to the daemon"
ob_wait_outbox_sent 3 60 || pd_fail "outbox not sent over TLS within 60 s"
pd_expect_eq "acknowledgement delivered" 1 "$(ob_count_to marie@client.test)"
pd_expect_match "the submission listener saw a TLS 1.2 session" 'TLS connection established from localhost.*TLSv1\.2' \
    "$(grep -E 'submission/smtpd.*TLS connection established' "$PF/maillog")"
pd_expect_match "the submission listener saw STARTTLS" 'starttls=1' \
    "$(grep -E 'submission/smtpd.*disconnect from' "$PF/maillog")"

# 2. A CA that did not sign the relay's certificate: nothing in clear.
sed -i "s|^relay_ca_file = .*|relay_ca_file = $PD_DIR/other-cert.pem|" "$PD_CONF"
kill -HUP "$PD_LMTPD_PID"
pd_wait_for 10 grep -q 'reload: .*new configuration in effect' "$PD_DIR/lmtpd.log" ||
    pd_fail "the daemon did not log the reload"
pd_send paul@client.test helpdesk@desk.test "Mauvaise autorite"
pd_wait_queue_empty 60 || pd_fail "second request not delivered to the daemon"
deferred() { [ "$(ob_outbox_json | pd_json 'len([r for r in j if r["state"] == "pending" and r["attempts"] >= 1])')" = 3 ]; }
pd_wait_for 30 deferred || pd_fail "rows of the second ticket not deferred within 30 s"
pd_expect_match "the error names TLS" 'TLS' \
    "$(ob_outbox_json | pd_json '[r["last_error"] for r in j if r["state"] == "pending"][:1]')"
pd_expect_eq "no acknowledgement reached paul" 0 "$(ob_count_to paul@client.test)"

pd_lmtpd_stop
pd_expect_eq "daemon exit status" 0 "$PD_LMTPD_STATUS"
pd_finish
