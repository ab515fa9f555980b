
/ÀËØş¼1€ı÷ƒ½1__name__demo_requests_total
2ÀËØş¼1€ı÷ƒ½1jobdemo__name__demo_.*