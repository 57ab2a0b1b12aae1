filedesc://legacy.arc 0.0.0.0 20060101000000 text/plain 77
1 0 organwatch-tests
URL IP-address Archive-date Content-type Archive-length

http://www.example-network.com/price.html 192.0.2.1 20050601000000 text/html 745
HTTP/1.0 200 OK
Content-Type: text/html

<html><head><title>Example Transplantation Network Assistance Center - Price list</title></head>
<body><h2>Price list for foreign patients</h2>
<table><tr><th>Organ</th><th>Price</th></tr>
<tr><td>Kidney</td><td>US$62,000</td></tr>
<tr><td>Liver</td><td>$98,000 &ndash; $130,000</td></tr>
<tr><td>Liver and kidney</td><td>$160,000 – $180,000</td></tr>
</table>
<p>It takes 1 week for a liver transplant. A matching kidney can be found within two weeks.</p>
<p>Hotel rooms near the hospital cost $120 per night. Return flights from Tokyo cost $800-1,200.</p>
<p>Phone: +86 24 2325 6666. Founded on 12 May 1998.</p>
<p>In the United States the median wait for a kidney is 3.6 years.</p>
</body></html>
http://www.example-hospital.cn/shen.htm 192.0.2.1 20050701000000 text/html 227
HTTP/1.0 200 OK
Content-Type: text/html

<html><head><meta charset="utf-8"><title>换肾须知</title></head><body>
<p>换肾只需一两周。供肝一周内即可找到。肝移植一个半月内完成。</p></body></html>
