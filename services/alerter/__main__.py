from services.alerter.main import main

main()
