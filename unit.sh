mount -t tmpfs tmpfs /etc/systemd/system
cat > /etc/systemd/system/cct.service <<'U'
[Unit]
Description=cct
[Service]
ExecStart=/bin/sh -c 'echo $$ > /run/cct.pid; exec sleep 1000'
ExecReload=/bin/kill -HUP $MAINPID
[Install]
WantedBy=multi-user.target
U
systemctl daemon-reload; systemctl start cct; echo start=$?; systemctl is-active cct; systemctl is-enabled cct; systemctl enable cct; systemctl is-enabled cct; ls -l /etc/systemd/system/multi-user.target.wants; systemctl status cct --no-pager | head; systemctl is-active nosuch; echo $?; systemctl is-enabled nosuch; echo $?
