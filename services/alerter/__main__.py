from services.alerter.main import run

run()
