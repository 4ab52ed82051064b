"""Partner API views: thin — validate input with a serializer, call a service, serialize."""
