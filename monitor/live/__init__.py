"""Live adapters: the AMI listener, the FastAGI service, the simulated PBX and the runner."""
