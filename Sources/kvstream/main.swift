print("kvstream")
