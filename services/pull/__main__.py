from services.pull.main import main

main()
