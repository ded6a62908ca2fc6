from ws_relay.app import main

main()
