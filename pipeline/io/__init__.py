"""Reading the run's input and writing its documents: datatrove readers and writers, made to account
for every record (empty and malformed ones included) instead of skipping them with a warning."""
