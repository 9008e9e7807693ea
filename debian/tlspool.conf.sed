# etc/tlspool.conf.sample -> /etc/tlspool.conf for the packaged service
# (tlspool.service: User=tlspool, RuntimeDirectory=tlspool,
# StateDirectory=tlspool; tlspool.socket: /run/tlspool.sock, group tlspool).
s|^#socket_group tlspool$|socket_group tlspool|
s|^# Run as this user after opening the socket\.$|# Run as this user after opening the socket (not needed with the packaged\n# tlspool.service, which starts the daemon as tlspool already).|
s|^daemon_pidfile /var/run/tlspool.pid$|daemon_pidfile /run/tlspool/tlspool.pid|
s|^localid_dir /etc/tlspool/localid$|state_dir /var/lib/tlspool\nlocalid_dir /var/lib/tlspool/localid|
