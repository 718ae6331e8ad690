"""The on-call receiver: Alertmanager's webhook and e-mail end up here, shown in the terminal and on a page."""
